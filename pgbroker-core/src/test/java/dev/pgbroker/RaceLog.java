package dev.pgbroker;

import dev.pgbroker.testing.TestDatabase;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * The handling log of {@link OrderingRaceTest}, read back from {@code <schema>.event} once the race
 * is over, and the checks made on it.
 *
 * <p>Every consumer writes a 'start' row after its read returned (in the read's own statement for
 * the SQL readers) and an 'end' row before it settles, holding {@code live}: whether its lease was
 * still held and unexpired at that moment on the database clock. Row numbers come from one
 * sequence, so they order events in real time across processes. A lease is live from its read until
 * at least {@code end} when {@code live} is true (a lease's expiry only moves later while it is
 * held), so two handlings of one key that overlap between start and end while both were live at
 * their end had two live leases at the same moment: a broken contract, whatever the sampler saw. A
 * handling that was not live at its end, or whose settle was refused, or that never wrote its end
 * (a transactional handler whose ack was refused rolls it back) had its lease run out: it may
 * overlap another and its message may be handled again.
 */
final class RaceLog {
  /** One delivery handled by one consumer. */
  record Handling(
      long messageId,
      UUID lease,
      String consumer,
      int attempt,
      long start,
      Long end,
      Boolean ok,
      Boolean live,
      boolean refused) {

    /** Whether its lease was live from the read to the end of the handling. */
    boolean heldThroughout() {
      return end != null && Boolean.TRUE.equals(live) && !refused;
    }

    boolean succeeded() {
      return end != null && Boolean.TRUE.equals(ok);
    }
  }

  private final List<Handling> handlings;
  private final long lostUnstarted;

  private RaceLog(List<Handling> handlings, long lostUnstarted) {
    this.handlings = handlings;
    this.lostUnstarted = lostUnstarted;
  }

  static void createTables(TestSchema s) {
    s.execute(
        "create table %s.event ("
            + " n bigserial primary key," // one sequence: the real-time order of events
            + " kind text not null," // start | end | lost
            + " message_id bigint not null,"
            + " lease uuid not null,"
            + " attempt integer not null,"
            + " consumer text not null,"
            + " ok boolean," // end: the handler succeeded (false: a poison message failed)
            + " live boolean);" // end: the lease was still held and unexpired
            + " create index on %s.event (message_id);"
            + " create table %s.cured (id bigint primary key);");
  }

  /**
   * Reads the log; {@code sqlSettled} holds the SQL readers' settle results by "id/lease" (the
   * workers log a refused lease as a 'lost' row instead).
   */
  static RaceLog load(TestSchema s, Map<String, Boolean> sqlSettled) throws SQLException {
    Map<String, Handling> byDelivery = new LinkedHashMap<>();
    Map<String, Boolean> lost = new HashMap<>();
    try (Connection c = TestDatabase.dataSource().getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "select n, kind, message_id, lease, attempt, consumer, ok, live from "
                    + s.name()
                    + ".event order by n");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        long n = rs.getLong(1);
        String kind = rs.getString(2);
        long id = rs.getLong(3);
        UUID lease = rs.getObject(4, UUID.class);
        String delivery = id + "/" + lease;
        switch (kind) {
          case "start" -> {
            Handling previous =
                byDelivery.put(
                    delivery,
                    new Handling(
                        id, lease, rs.getString(6), rs.getInt(5), n, null, null, null, false));
            if (previous != null) {
              throw new IllegalStateException("delivery " + delivery + " started twice");
            }
          }
          case "end" -> {
            Handling h = Objects.requireNonNull(byDelivery.get(delivery), delivery);
            byDelivery.put(
                delivery,
                new Handling(
                    id,
                    lease,
                    h.consumer(),
                    h.attempt(),
                    h.start(),
                    n,
                    rs.getBoolean(7),
                    rs.getBoolean(8),
                    false));
          }
          case "lost" -> lost.put(delivery, true);
          default -> throw new IllegalStateException(kind);
        }
      }
    }
    List<Handling> all = new ArrayList<>();
    for (Map.Entry<String, Handling> e : byDelivery.entrySet()) {
      Handling h = e.getValue();
      boolean refused =
          lost.remove(e.getKey()) != null || Boolean.FALSE.equals(sqlSettled.get(e.getKey()));
      all.add(
          new Handling(
              h.messageId(),
              h.lease(),
              h.consumer(),
              h.attempt(),
              h.start(),
              h.end(),
              h.ok(),
              h.live(),
              refused));
    }
    return new RaceLog(all, lost.size()); // what is left: buffered deliveries lost unstarted
  }

  /** Messages with no successful handling. */
  List<Long> unhandled(Collection<Long> sent) {
    Set<Long> done =
        handlings.stream()
            .filter(Handling::succeeded)
            .map(Handling::messageId)
            .collect(Collectors.toSet());
    return sent.stream().filter(id -> !done.contains(id)).sorted().toList();
  }

  /** Messages handled successfully more than once with no lease of theirs running out. */
  List<String> unexplainedDuplicates() {
    List<String> out = new ArrayList<>();
    for (Map.Entry<Long, List<Handling>> e : byMessage().entrySet()) {
      List<Handling> ok = e.getValue().stream().filter(Handling::succeeded).toList();
      long heldAndOk = ok.stream().filter(Handling::heldThroughout).count();
      if (ok.size() > 1 && heldAndOk > 1) {
        out.add(e.getKey() + ": " + e.getValue());
      }
    }
    return out;
  }

  /** Messages handled successfully more than once, each time after a lease of theirs ran out. */
  long duplicates() {
    return byMessage().values().stream()
        .mapToLong(hs -> Math.max(0, hs.stream().filter(Handling::succeeded).count() - 1))
        .sum();
  }

  /** Pairs of handlings of one key, under different leases, that overlap while both were live. */
  List<String> overlapsWhileBothLive(Map<Long, String> keyOf) {
    List<String> out = new ArrayList<>();
    overlaps(keyOf, true, out);
    return out;
  }

  /** Overlapping handlings of one key where a lease had run out: allowed, counted. */
  long overlapsAfterExpiry(Map<Long, String> keyOf) {
    return overlaps(keyOf, false, new ArrayList<>());
  }

  private long overlaps(Map<Long, String> keyOf, boolean bothLive, List<String> out) {
    long n = 0;
    for (List<Handling> hs : byKey(keyOf).values()) {
      List<Handling> sorted = new ArrayList<>(hs);
      sorted.sort(Comparator.comparingLong(Handling::start));
      for (int i = 0; i < sorted.size(); i++) {
        Handling a = sorted.get(i);
        for (int j = i + 1; j < sorted.size(); j++) {
          Handling b = sorted.get(j);
          if (a.end() == null || b.start() > a.end()) {
            break; // sorted by start: no later one overlaps a either (no end: a ran out)
          }
          if (a.lease().equals(b.lease())) {
            continue; // one run, handled one after another by one slot
          }
          boolean live = a.heldThroughout() && b.heldThroughout();
          if (live == bothLive) {
            n++;
            if (out.size() < 20) {
              out.add(keyOf.get(a.messageId()) + ": " + a + " and " + b);
            }
          }
        }
      }
    }
    return n;
  }

  /**
   * Keys whose messages were first handled in another order than {@code expected} (each key's
   * visibility order, set by its producer).
   */
  List<String> orderViolations(Map<Long, String> keyOf, Map<String, List<Long>> expected) {
    List<String> out = new ArrayList<>();
    Map<String, Map<Long, Long>> firstStart = new HashMap<>();
    for (Handling h : handlings) {
      firstStart
          .computeIfAbsent(keyOf.get(h.messageId()), k -> new HashMap<>())
          .merge(h.messageId(), h.start(), Math::min);
    }
    for (Map.Entry<String, List<Long>> e : expected.entrySet()) {
      Map<Long, Long> starts = firstStart.getOrDefault(e.getKey(), Map.of());
      List<Long> actual =
          starts.entrySet().stream()
              .sorted(Map.Entry.comparingByValue())
              .map(Map.Entry::getKey)
              .toList();
      if (!actual.equals(e.getValue())) {
        out.add(e.getKey() + ": expected " + e.getValue() + ", first handled " + actual);
      }
    }
    return out;
  }

  long expiredHandlings() {
    return handlings.stream().filter(h -> !h.heldThroughout()).count();
  }

  /** Handlings per consumer. */
  Map<String, Long> perConsumer() {
    return handlings.stream()
        .collect(Collectors.groupingBy(Handling::consumer, TreeMap::new, Collectors.counting()));
  }

  String describe() {
    long runs =
        handlings.stream()
            .collect(Collectors.groupingBy(Handling::lease, Collectors.counting()))
            .values()
            .stream()
            .filter(n -> n > 1)
            .count();
    return String.format(
        "%d handlings %s, %d failed (poison), %d whose lease ran out or was refused, %d"
            + " buffered deliveries lost unstarted, %d extra successful handlings of a message"
            + " already handled, %d worker leases covering a run of several messages",
        handlings.size(),
        perConsumer(),
        handlings.stream().filter(h -> Boolean.FALSE.equals(h.ok())).count(),
        expiredHandlings(),
        lostUnstarted,
        duplicates(),
        runs);
  }

  private Map<Long, List<Handling>> byMessage() {
    return handlings.stream().collect(Collectors.groupingBy(Handling::messageId));
  }

  private Map<String, List<Handling>> byKey(Map<Long, String> keyOf) {
    return handlings.stream().collect(Collectors.groupingBy(h -> keyOf.get(h.messageId())));
  }

  /** The message rows of a key (the first 40 of all keys when null), for failure messages. */
  static String rows(TestSchema s, String key) {
    String sql =
        "select count(*) || ' rows: ' || string_agg(format('%s %s lease=%s attempt=%s"
            + " visible_at=%s', id, ordering_key, lease, attempt, visible_at), '; ' order by id)"
            + " filter (where n <= 40)"
            + " from (select m.*, row_number() over (order by id) n from "
            + s.name()
            + ".message m"
            + (key == null ? "" : " where ordering_key = ?")
            + ") m";
    try (Connection c = TestDatabase.dataSource().getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      if (key != null) {
        ps.setString(1, key);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return String.valueOf(rs.getString(1));
      }
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    }
  }
}
