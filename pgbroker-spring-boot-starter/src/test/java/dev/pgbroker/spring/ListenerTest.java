package dev.pgbroker.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pgbroker.Broker;
import dev.pgbroker.DeadLetter;
import dev.pgbroker.Delivery;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

@ExtendWith(BrokerExtension.class)
class ListenerTest {
  // Generous: these runs shared two cores with other builds at a load average of 75.
  private static final Duration WAIT = Duration.ofSeconds(90);

  record Payment(String id, BigDecimal amount, Instant at, List<String> tags) {}

  static class Payments {
    final List<Payment> received = new CopyOnWriteArrayList<>();
    final Map<String, List<Integer>> attempts = new ConcurrentHashMap<>();

    @PgBrokerListener(queue = "payments", concurrency = 4)
    void pay(Payment payment, Delivery delivery) {
      attempts
          .computeIfAbsent(payment.id(), k -> new CopyOnWriteArrayList<>())
          .add(delivery.attempt());
      if (payment.id().startsWith("flaky") && delivery.attempt() < 3) {
        throw new IllegalStateException("bank timeout on attempt " + delivery.attempt());
      }
      if (payment.id().startsWith("poison")) {
        throw new IllegalArgumentException("card number " + payment.id() + " is invalid");
      }
      received.add(payment);
    }
  }

  @Test
  void listenersGetTypedPayloadsRetryAndDeadLetter(TestSchema schema) {
    Contexts.on(schema)
        .withPropertyValues(
            "pgbroker.queues.payments.backoff-schedule=10ms",
            "pgbroker.queues.payments.max-attempts=3")
        .withBean(Payments.class)
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              PgBrokerTemplate template = context.getBean(PgBrokerTemplate.class);
              Payments payments = context.getBean(Payments.class);
              List<Payment> sent = new ArrayList<>();
              for (int i = 0; i < 50; i++) {
                String id = (i % 10 == 0 ? "flaky-" : "ok-") + i;
                sent.add(
                    new Payment(
                        id,
                        new BigDecimal("12.5" + i),
                        Instant.parse("2026-01-02T03:04:05Z"),
                        List.of("t" + i)));
              }
              sent.forEach(p -> template.send("payments", p));
              template.send(
                  "payments", new Payment("poison-1", BigDecimal.ONE, Instant.EPOCH, List.of()));

              Broker broker = context.getBean(Broker.class);
              await()
                  .atMost(WAIT)
                  .until(
                      () -> payments.received.size() >= 50 && broker.stats("payments").dead() == 1);
              assertThat(payments.received).containsExactlyInAnyOrderElementsOf(sent);
              for (Payment p : sent) {
                List<Integer> expected = p.id().startsWith("flaky") ? List.of(1, 2, 3) : List.of(1);
                assertThat(payments.attempts.get(p.id())).as(p.id()).isEqualTo(expected);
              }
              assertThat(payments.attempts.get("poison-1")).isEqualTo(List.of(1, 2, 3));
              DeadLetter dead = broker.deadLetters("payments").list(10).get(0);
              assertThat(dead.lastError()).contains("card number poison-1 is invalid");
            });
  }

  /** A payload that cannot be read as the parameter's type goes to the dead letters at once. */
  @Test
  void anUnreadablePayloadIsDeadLetteredWithoutRetries(TestSchema schema) {
    Contexts.on(schema)
        .withBean(Payments.class)
        .run(
            context -> {
              Broker broker = context.getBean(Broker.class);
              broker.send("payments", Map.of("id", List.of("not", "a", "string")));
              await().atMost(WAIT).until(() -> broker.stats("payments").dead() == 1);
              assertThat(broker.deadLetters("payments").list(1).get(0).lastError())
                  .contains("does not read as")
                  .contains("Payments.pay");
              assertThat(context.getBean(Payments.class).attempts).isEmpty();
            });
  }

  /**
   * Writes a row, sends a follow-up, and fails after both on the first attempt of every third
   * order: the rows, the follow-ups and the after-commit callbacks must each come out once per
   * order.
   */
  static class Bookings {
    final JdbcTemplate jdbc;
    final PgBrokerTemplate template;
    final String schema;
    final AtomicInteger afterCommit = new AtomicInteger();
    final Set<Integer> committed = ConcurrentHashMap.newKeySet();

    Bookings(JdbcTemplate jdbc, PgBrokerTemplate template, Broker broker) {
      this.jdbc = jdbc;
      this.template = template;
      this.schema = broker.schema();
    }

    public int afterCommits() {
      return afterCommit.get();
    }

    public Set<Integer> committedOrders() {
      return committed;
    }

    @PgBrokerListener(queue = "bookings", concurrency = 4, transactional = true)
    void book(int order, Delivery delivery) {
      write(order, delivery);
    }

    void write(int order, Delivery delivery) {
      jdbc.update("insert into " + schema + ".booked (order_id) values (?)", order);
      template.send("receipts", order);
      TransactionSynchronizationManager.registerSynchronization(
          new TransactionSynchronization() {
            @Override
            public void afterCommit() {
              afterCommit.incrementAndGet();
              committed.add(order);
            }
          });
      if (order % 3 == 0 && delivery.attempt() == 1) {
        throw new IllegalStateException("failing after the writes of order " + order);
      }
    }
  }

  /** The same, as a @Transactional method instead of transactional = true. */
  static class AnnotatedBookings extends Bookings {
    AnnotatedBookings(JdbcTemplate jdbc, PgBrokerTemplate template, Broker broker) {
      super(jdbc, template, broker);
    }

    @Override
    @PgBrokerListener(queue = "bookings", concurrency = 4)
    @Transactional
    public void book(int order, Delivery delivery) {
      write(order, delivery);
    }
  }

  @Test
  void aTransactionalListenerCommitsItsWritesWithTheAckExactlyOnce(TestSchema schema) {
    exactlyOnce(schema, Bookings.class, 300);
  }

  @Test
  void aTransactionalAnnotatedListenerJoinsTheAckTransaction(TestSchema schema) {
    exactlyOnce(schema, AnnotatedBookings.class, 90);
  }

  private void exactlyOnce(TestSchema schema, Class<? extends Bookings> type, int n) {
    schema.execute("create table %s.booked (order_id int not null)");
    Contexts.on(schema)
        .withPropertyValues("pgbroker.queues.bookings.backoff-schedule=10ms")
        .withBean(type)
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              Broker broker = context.getBean(Broker.class);
              broker.createQueue("receipts");
              List<Integer> orders = new ArrayList<>();
              for (int i = 1; i <= n; i++) {
                orders.add(i);
              }
              broker.sendBatch("bookings", orders);
              await().atMost(WAIT).until(() -> broker.stats("bookings").acked() == n);
              assertThat(schema.count("select count(*) from %s.booked")).isEqualTo(n);
              assertThat(schema.count("select count(distinct order_id) from %s.booked"))
                  .isEqualTo(n);
              assertThat(broker.stats("receipts").ready()).isEqualTo(n);
              assertThat(broker.stats("bookings").failed()).isEqualTo(n / 3);
              Bookings bookings = context.getBean(type); // a proxy: read through methods
              assertThat(bookings.afterCommits()).isEqualTo(n);
              assertThat(bookings.committedOrders()).hasSize(n);
            });
  }

  static class TwoParameters {
    @PgBrokerListener(queue = "payments")
    void pay(Payment payment, String other) {}
  }

  @Test
  void aListenerWithTwoPayloadsIsRefusedAtStart(TestSchema schema) {
    Contexts.on(schema)
        .withBean(TwoParameters.class)
        .run(
            context ->
                assertThat(context.getStartupFailure())
                    .rootCause()
                    .hasMessageContaining("TwoParameters.pay takes 2 parameters"));
  }

  @Test
  void aBadConcurrencyPropertyIsNamedAtStart(TestSchema schema) {
    Contexts.on(schema)
        .withPropertyValues("pgbroker.queues.payments.concurrency=0")
        .withBean(Payments.class)
        .run(
            context ->
                assertThat(context.getStartupFailure())
                    .hasStackTraceContaining(
                        "pgbroker.queues.payments.concurrency must be between 1 and 10000, was 0"));
  }

  static class Duplicate {
    @PgBrokerListener(queue = "payments")
    void one(Payment payment) {}

    @PgBrokerListener(queue = "payments")
    void two(Payment payment) {}
  }

  @Test
  void twoListenersOnOneQueueAreRefusedAtStart(TestSchema schema) {
    Contexts.on(schema)
        .withBean(Duplicate.class)
        .run(
            context ->
                assertThat(context.getStartupFailure())
                    .rootCause()
                    .hasMessageContaining("queue 'payments' has two @PgBrokerListener methods"));
  }
}
