package dev.pgbroker;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wraps the user's {@link WorkerListener} so that a listener that throws is logged and cannot take
 * a delivery's settlement, or a worker thread, down with it.
 */
final class GuardedListener implements WorkerListener {
  private static final Logger log = LoggerFactory.getLogger(GuardedListener.class);
  private final WorkerListener inner;

  GuardedListener(WorkerListener inner) {
    this.inner = inner;
  }

  private void call(String event, Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      log.warn("pgbroker: WorkerListener.{} threw; ignored", event, e);
    }
  }

  @Override
  public void delivered(Delivery d) {
    call("delivered", () -> inner.delivered(d));
  }

  @Override
  public void succeeded(Delivery d, Duration took) {
    call("succeeded", () -> inner.succeeded(d, took));
  }

  @Override
  public void failed(Delivery d, Throwable error, Duration took, boolean willRetry) {
    call("failed", () -> inner.failed(d, error, took, willRetry));
  }

  @Override
  public void deadLettered(Delivery d, String error) {
    call("deadLettered", () -> inner.deadLettered(d, error));
  }

  @Override
  public void leaseLost(Delivery d) {
    call("leaseLost", () -> inner.leaseLost(d));
  }

  @Override
  public void databaseError(String during, Exception error) {
    call("databaseError", () -> inner.databaseError(during, error));
  }
}
