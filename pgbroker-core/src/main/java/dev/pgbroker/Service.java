package dev.pgbroker;

import java.time.Duration;

/**
 * Work that one instance does for all: the {@link ServiceRunner} runs each service every {@code
 * interval} while its instance holds the leader lease. Each service's work lives in a file of its
 * own ({@link Maintenance}, {@link HotTableVacuum}).
 */
record Service(String name, Duration interval, Work work) {
  @FunctionalInterface
  interface Work {
    void run() throws Exception;
  }
}
