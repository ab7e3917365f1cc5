package dev.pgbroker.examples.payments;

import dev.pgbroker.spring.PgBrokerListener;
import java.time.Duration;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * Pays placed orders. Transactional: the order's update commits with the message's ack, so an
 * instance killed halfway leaves neither, and another instance completes the order once.
 */
@Component
class PaymentProcessor {
  private final Orders orders;
  private final String instance;
  private final Duration processingTime;

  PaymentProcessor(
      Orders orders,
      @Value("${payment-orders.instance}") String instance,
      @Value("${payment-orders.processing-time}") Duration processingTime) {
    this.orders = orders;
    this.instance = instance;
    this.processingTime = processingTime;
  }

  @PgBrokerListener(queue = Orders.QUEUE, concurrency = 4, transactional = true)
  void pay(Orders.OrderPlaced order) throws InterruptedException {
    Thread.sleep(processingTime.toMillis()); // the payment provider at work
    if (orders.blocked(order.card())) {
      // Retried with the queue's backoff, then kept in the dead-letter store for a replay.
      throw new IllegalStateException(
          "card " + order.card() + " is blocked; order " + order.id() + " not paid");
    }
    orders.complete(order.id(), instance);
  }
}
