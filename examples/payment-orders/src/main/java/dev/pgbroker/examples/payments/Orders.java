package dev.pgbroker.examples.payments;

import dev.pgbroker.spring.PgBrokerTemplate;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

/** The orders table, its message, and the blocked cards that make payments fail. */
@Component
class Orders {
  static final String QUEUE = "payment-orders";
  private static final Pattern NAME = Pattern.compile("^[a-z_][a-z0-9_]{0,62}$");

  /** What the queue carries: enough to pay without reading the order back. */
  record OrderPlaced(long id, String card, BigDecimal amount) {}

  private final JdbcTemplate jdbc;
  private final PgBrokerTemplate broker;
  private final String orders;
  private final String blockedCards;
  private final String sweeps;

  Orders(
      JdbcTemplate jdbc,
      PgBrokerTemplate broker,
      TransactionTemplate transaction,
      @Value("${payment-orders.schema}") String schema) {
    if (!NAME.matcher(schema).matches()) {
      throw new IllegalArgumentException(
          "payment-orders.schema must match " + NAME.pattern() + ", was '" + schema + "'");
    }
    this.jdbc = jdbc;
    this.broker = broker;
    this.orders = schema + ".payment_order";
    this.blockedCards = schema + ".blocked_card";
    this.sweeps = schema + ".sweep_run";
    // Instances starting together would race on "create table if not exists"; one at a time.
    transaction.executeWithoutResult(
        tx -> {
          jdbc.execute("select pg_advisory_xact_lock(hashtext('payment-orders ddl'))");
          jdbc.execute("create schema if not exists " + schema);
          jdbc.execute(
              "create table if not exists "
                  + orders
                  + " (id bigserial primary key, customer text not null,"
                  + " amount numeric(12, 2) not null, card text not null, status text not null,"
                  + " completed_by text, completions int not null default 0,"
                  + " created_at timestamptz not null default now(), completed_at timestamptz)");
          jdbc.execute("create table if not exists " + blockedCards + " (card text primary key)");
          // No unique tick: a tick swept twice would show as two rows.
          jdbc.execute(
              "create table if not exists "
                  + sweeps
                  + " (tick text not null, instance text not null, stuck bigint not null,"
                  + " at timestamptz not null default now())");
        });
  }

  /** The order row and its message commit together, or neither does. */
  @Transactional
  public long place(String customer, BigDecimal amount, String card) {
    Long id =
        jdbc.queryForObject(
            "insert into "
                + orders
                + " (customer, amount, card, status) values (?, ?, ?, 'PENDING') returning id",
            Long.class,
            customer,
            amount,
            card);
    broker.send(QUEUE, new OrderPlaced(id, card, amount));
    return id;
  }

  /**
   * Runs inside the listener's transaction, so it commits with the message's ack. It counts
   * completions rather than guarding on the status, so a second completion would show.
   */
  void complete(long id, String instance) {
    jdbc.update(
        "update "
            + orders
            + " set status = 'COMPLETED', completed_by = ?, completed_at = now(),"
            + " completions = completions + 1 where id = ?",
        instance,
        id);
  }

  /** Records one sweep: the orders still PENDING a minute after they were placed. */
  void recordSweep(String tick, String instance) {
    jdbc.update(
        "insert into "
            + sweeps
            + " (tick, instance, stuck) select ?, ?, count(*) from "
            + orders
            + " where status = 'PENDING' and created_at < now() - interval '1 minute'",
        tick,
        instance);
  }

  boolean blocked(String card) {
    return Boolean.TRUE.equals(
        jdbc.queryForObject(
            "select exists (select 1 from " + blockedCards + " where card = ?)",
            Boolean.class,
            card));
  }

  void block(String card) {
    jdbc.update("insert into " + blockedCards + " values (?) on conflict do nothing", card);
  }

  boolean unblock(String card) {
    return jdbc.update("delete from " + blockedCards + " where card = ?", card) == 1;
  }

  List<Map<String, Object>> find(long id) {
    return jdbc.queryForList(
        "select id, customer, amount, card, status, completed_by from " + orders + " where id = ?",
        id);
  }

  /** Orders by status, and how many were completed more than once (always 0). */
  Map<String, Object> summary() {
    Map<String, Object> s = new LinkedHashMap<>();
    jdbc.query(
        "select status, count(*) from " + orders + " group by status order by status",
        rs -> {
          s.put(rs.getString(1), rs.getLong(2));
        });
    s.put(
        "completedMoreThanOnce",
        jdbc.queryForObject(
            "select count(*) from " + orders + " where completions > 1", Long.class));
    return s;
  }
}
