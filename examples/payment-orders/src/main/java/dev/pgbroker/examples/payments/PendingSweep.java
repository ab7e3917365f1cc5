package dev.pgbroker.examples.payments;

import dev.pgbroker.Delivery;
import dev.pgbroker.spring.PgBrokerSchedule;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * The cron job of the hand-built system: every minute, on one instance only, count the orders still
 * PENDING a minute after they were placed (an operator's alarm would watch this table).
 */
@Component
class PendingSweep {
  private final Orders orders;
  private final String instance;

  PendingSweep(Orders orders, @Value("${payment-orders.instance}") String instance) {
    this.orders = orders;
    this.instance = instance;
  }

  @PgBrokerSchedule(
      name = "payment-orders.sweep",
      every = "${payment-orders.sweep-every}",
      transactional = true)
  void sweep(Delivery tick) {
    orders.recordSweep(tick.headers().get("pgbroker-tick"), instance);
  }
}
