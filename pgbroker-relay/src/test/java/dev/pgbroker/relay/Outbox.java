package dev.pgbroker.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.Broker;
import dev.pgbroker.SendOptions;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;

/**
 * The producing side of the relay tests: messages numbered 0..total-1 over {@code keys} ordering
 * keys, sent in transactions of ten by several producers, every third transaction rolled back. Each
 * key belongs to one producer, so a key's send order is its number order. Then checks what a
 * consumer on the broker's side received against what committed.
 */
final class Outbox {
  static final int TX_SIZE = 10;

  /** One message as the broker-side consumer saw it. */
  record Received(long id, String key, int n) {}

  final Set<Integer> committed = ConcurrentHashMap.newKeySet();
  final Set<Integer> rolledBack = ConcurrentHashMap.newKeySet();
  private final ExecutorService producers;
  private final List<Future<?>> running = new ArrayList<>();

  private Outbox(int threads) {
    producers = Executors.newFixedThreadPool(threads);
  }

  static String payload(String key, int n) {
    return "{\"k\":\"" + key + "\",\"n\":" + n + "}";
  }

  /** Starts {@code threads} producers sending {@code total} messages to {@code queue}. */
  static Outbox start(
      Broker broker, DataSource ds, String queue, int total, int keys, int threads) {
    Outbox o = new Outbox(threads);
    for (int t = 0; t < threads; t++) {
      int thread = t;
      o.running.add(
          o.producers.submit(
              () -> {
                o.produce(broker, ds, queue, total, keys, threads, thread);
                return null;
              }));
    }
    o.producers.shutdown();
    return o;
  }

  private void produce(
      Broker broker, DataSource ds, String queue, int total, int keys, int threads, int thread)
      throws Exception {
    List<Integer> mine = new ArrayList<>();
    for (int n = 0; n < total; n++) {
      if ((n % keys) % threads == thread) {
        mine.add(n);
      }
    }
    int tx = 0;
    for (int from = 0; from < mine.size(); from += TX_SIZE, tx++) {
      List<Integer> batch = mine.subList(from, Math.min(from + TX_SIZE, mine.size()));
      boolean rollback = tx % 3 == 2;
      try (Connection c = ds.getConnection()) {
        c.setAutoCommit(false);
        for (int n : batch) {
          String key = "key-" + (n % keys);
          broker.send(
              c, queue, dev.pgbroker.Json.of(payload(key, n)), SendOptions.none().orderingKey(key));
        }
        if (rollback) {
          c.rollback();
          rolledBack.addAll(batch);
        } else {
          c.commit();
          committed.addAll(batch);
        }
      }
    }
  }

  /** Waits for every producer; rethrows what one threw. */
  void awaitSent() throws Exception {
    for (Future<?> f : running) {
      f.get();
    }
  }

  /**
   * Every committed message arrived at least once, no rolled-back one did, each key's messages
   * first arrived in send order, and a duplicate carries the id its first copy had. Returns the
   * number of duplicates.
   */
  int verify(List<Received> received) {
    Map<Integer, Long> idOf = new HashMap<>();
    Map<String, Integer> lastFirstSeen = new HashMap<>();
    int duplicates = 0;
    for (Received r : received) {
      assertThat(rolledBack).as("rolled-back message %d was relayed", r.n()).doesNotContain(r.n());
      Long first = idOf.putIfAbsent(r.n(), r.id());
      if (first != null) {
        duplicates++;
        assertThat(r.id()).as("duplicate of message %d carries its id", r.n()).isEqualTo(first);
        continue;
      }
      Integer before = lastFirstSeen.put(r.key(), r.n());
      if (before != null) {
        assertThat(r.n())
            .as("key %s: message %d first arrived after %d", r.key(), r.n(), before)
            .isGreaterThan(before);
      }
    }
    assertThat(idOf.keySet()).as("committed messages received").containsAll(committed);
    assertThat(idOf).hasSize(committed.size());
    return duplicates;
  }
}
