package dev.pgbroker.bench;

import java.util.function.LongConsumer;

/**
 * The JobRunr job. JobRunr stores a job as the class, method and arguments of the call in its
 * lambda and later invokes that method by reflection from its worker threads, so this class and
 * method are public and the method reaches the running scenario through a static hook.
 */
public final class JobRunrJobs {
  /** Set by {@link JobRunrScenario} while it runs; called with the job's number. */
  static volatile LongConsumer onRun;

  private JobRunrJobs() {}

  public static void run(Long seq) {
    LongConsumer hook = onRun;
    if (hook != null) {
      hook.accept(seq);
    }
  }
}
