package dev.pgbroker.server;

import dev.pgbroker.StaleLeaseException;
import dev.pgbroker.UnknownQueueException;
import dev.pgbroker.UnknownTopicException;
import picocli.CommandLine.ParameterException;

/**
 * What a command's exit code means, so scripts can tell a missing queue from a stale lease from a
 * database that is down. docs/cli.md lists them.
 */
final class ExitStatus {
  static final int OK = 0;

  /** The work failed: database unreachable, schema missing, an unexpected error. */
  static final int FAILED = 1;

  /** Bad usage or bad input, refused before anything changed (picocli's own code for usage). */
  static final int BAD_INPUT = 2;

  /** The queue, topic, schedule, message or dead letter named does not exist. */
  static final int NOT_FOUND = 3;

  /** An ack, nack or extend presented a lease that ran out or was already settled. */
  static final int STALE_LEASE = 4;

  private ExitStatus() {}

  /** The exit code for an exception a command threw. */
  static int of(Exception e) {
    if (e instanceof CommandFailure f) {
      return f.exitCode();
    }
    if (e instanceof UnknownQueueException || e instanceof UnknownTopicException) {
      return NOT_FOUND;
    }
    if (e instanceof StaleLeaseException) {
      return STALE_LEASE;
    }
    if (e instanceof IllegalArgumentException || e instanceof ParameterException) {
      return BAD_INPUT;
    }
    return FAILED;
  }
}
