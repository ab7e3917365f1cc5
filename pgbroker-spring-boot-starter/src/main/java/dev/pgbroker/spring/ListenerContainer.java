package dev.pgbroker.spring;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.Worker;
import dev.pgbroker.WorkerListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the application's {@code @PgBrokerListener} methods on one {@link Worker}, started once the
 * context is refreshed and closed (draining running handlers) when it stops.
 */
final class ListenerContainer implements SmartLifecycle {
  private final Broker broker;
  private final ObjectMapper mapper;
  private final PgBrokerProperties properties;
  private final ListenerRegistry registry;
  private final ListenerTransactions transactions;
  private final List<WorkerListener> listeners;
  private volatile Worker worker;
  private volatile boolean running;

  ListenerContainer(
      Broker broker,
      ObjectMapper mapper,
      PgBrokerProperties properties,
      ListenerRegistry registry,
      ListenerTransactions transactions,
      List<WorkerListener> listeners) {
    this.broker = broker;
    this.mapper = mapper;
    this.properties = properties;
    this.registry = registry;
    this.transactions = transactions;
    this.listeners = listeners;
  }

  @Override
  public synchronized void start() {
    List<ListenerMethod> methods = registry.methods();
    running = true;
    ScheduleDefinitions schedules = registry.schedules().copy();
    properties.getSchedules().forEach(schedules::add);
    schedules.putAll(broker);
    if (methods.isEmpty() || !properties.getWorker().isEnabled()) {
      return;
    }
    PgBrokerProperties.Worker w = properties.getWorker();
    List<WorkerListener> all = new ArrayList<>();
    all.add(transactions); // first: afterCommit callbacks run before anything else hears of it
    all.addAll(listeners);
    Worker.Builder builder =
        broker
            .worker()
            .pollInterval(w.getPollInterval())
            .drainTimeout(w.getDrainTimeout())
            .maintenanceInterval(w.getMaintenanceInterval())
            .listenNotify(w.isListenNotify())
            .listener(new AllListeners(all));
    Map<String, ListenerMethod> byQueue = new HashMap<>();
    for (ListenerMethod m : methods) {
      ListenerMethod other = byQueue.putIfAbsent(m.queue(), m);
      if (other != null) {
        throw new IllegalStateException(
            "queue '"
                + m.queue()
                + "' has two @PgBrokerListener methods, "
                + other.name()
                + " and "
                + m.name()
                + "; a queue has one listener (raise its concurrency instead)");
      }
      broker.createQueue(m.queue()); // with defaults if missing; an existing queue is left as is
      if (m.transactional()) {
        builder.handleInTransaction(
            m.queue(), (tx, d) -> transactions.run(tx, () -> m.invoke(d, mapper)));
      } else {
        builder.handle(m.queue(), d -> m.invoke(d, mapper));
      }
      builder.concurrency(m.queue(), concurrency(m));
    }
    worker = builder.start();
  }

  private int concurrency(ListenerMethod m) {
    PgBrokerProperties.Queue q = properties.getQueues().get(m.queue());
    int n;
    String from;
    if (q != null && q.getConcurrency() != null) {
      n = q.getConcurrency();
      from = "pgbroker.queues." + m.queue() + ".concurrency";
    } else if (m.concurrency() > 0) {
      return m.concurrency(); // checked with the annotation
    } else {
      n = properties.getWorker().getConcurrency();
      from = "pgbroker.worker.concurrency";
    }
    if (n < 1 || n > 10_000) {
      throw new IllegalStateException(from + " must be between 1 and 10000, was " + n);
    }
    return n;
  }

  @Override
  public synchronized void stop() {
    running = false;
    Worker w = worker;
    worker = null;
    if (w != null) {
      w.close();
    }
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  /** Tells every listener, in order; one that throws is logged and does not stop the rest. */
  private record AllListeners(List<WorkerListener> all) implements WorkerListener {
    private static final Logger log = LoggerFactory.getLogger(ListenerContainer.class);

    private void each(String event, Consumer<WorkerListener> call) {
      for (WorkerListener l : all) {
        try {
          call.accept(l);
        } catch (RuntimeException e) {
          log.warn("pgbroker: {}.{} threw; ignored", l.getClass().getName(), event, e);
        }
      }
    }

    @Override
    public void delivered(Delivery d) {
      each("delivered", l -> l.delivered(d));
    }

    @Override
    public void succeeded(Delivery d, Duration took) {
      each("succeeded", l -> l.succeeded(d, took));
    }

    @Override
    public void failed(Delivery d, Throwable error, Duration took, boolean willRetry) {
      each("failed", l -> l.failed(d, error, took, willRetry));
    }

    @Override
    public void deadLettered(Delivery d, String error) {
      each("deadLettered", l -> l.deadLettered(d, error));
    }

    @Override
    public void leaseLost(Delivery d) {
      each("leaseLost", l -> l.leaseLost(d));
    }

    @Override
    public void databaseError(String during, Exception error) {
      each("databaseError", l -> l.databaseError(during, error));
    }
  }
}
