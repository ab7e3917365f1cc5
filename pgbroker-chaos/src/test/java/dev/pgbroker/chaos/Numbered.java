package dev.pgbroker.chaos;

/**
 * The payload of every chaos message: its number, unique in a scenario, and whether the handler
 * must refuse it as poison. Which numbers are poison and which sends roll back is fixed by the
 * number, so every process and the final count agree without talking.
 */
record Numbered(int n, boolean poison) {
  static boolean isPoison(int n) {
    return n % 50 == 13;
  }

  /** Sends of these numbers happen in transactions that roll back: they must never be handled. */
  static boolean rollsBack(int n) {
    return n % 10 == 7;
  }

  static Numbered of(int n) {
    return new Numbered(n, isPoison(n));
  }
}
