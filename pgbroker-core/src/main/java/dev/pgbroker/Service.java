package dev.pgbroker;

import java.time.Duration;

/**
 * Work that one instance does for all: the {@link ServiceRunner} runs each service on its interval
 * while its instance holds the leader lease. One service per file.
 */
interface Service {
  String name();

  Duration interval();

  void run() throws Exception;
}
