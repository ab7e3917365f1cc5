package dev.pgbroker;

/**
 * Thrown by a handler whose message can never succeed: it goes straight to the dead-letter store
 * with this reason, whatever attempts it has left.
 */
public final class PoisonMessageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PoisonMessageException(String reason) {
    super(reason);
  }

  public PoisonMessageException(String reason, Throwable cause) {
    super(reason, cause);
  }
}
