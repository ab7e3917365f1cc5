package dev.pgbroker;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs tasks one at a time in the order given, on one borrowed pool thread that keeps taking them
 * while any wait. It carries an async queue's slots on after their stages complete: a broker
 * confirms publishes in bursts, and a burst then costs one hand-off to a pool thread instead of one
 * each (the relay to RabbitMQ spent most of its own CPU waking and parking handler threads). Once
 * the pool takes no more tasks (the worker is closing), tasks run on the thread that gave them, so
 * that draining still settles what was under way. Safe to share between threads.
 */
final class SerialLane implements Executor {
  private final Executor pool;
  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();

  /** True while a thread runs the queued tasks, or has been asked to. */
  private final AtomicBoolean running = new AtomicBoolean();

  SerialLane(Executor pool) {
    this.pool = pool;
  }

  @Override
  public void execute(Runnable task) {
    tasks.add(task);
    runSoon();
  }

  private void runSoon() {
    if (!running.compareAndSet(false, true)) {
      return; // the running thread will take it
    }
    try {
      pool.execute(this::runQueued);
    } catch (RejectedExecutionException closing) {
      runQueued();
    }
  }

  private void runQueued() {
    try {
      for (Runnable task; (task = tasks.poll()) != null; ) {
        task.run();
      }
    } finally {
      running.set(false);
      if (!tasks.isEmpty()) {
        runSoon(); // added after the last poll, or left behind by a task that threw
      }
    }
  }
}
