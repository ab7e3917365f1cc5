package dev.pgbroker.examples.payments;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * Payment orders: {@code POST /orders} writes a PENDING order and sends its message in one
 * transaction; every running instance competes for the messages and marks each order COMPLETED
 * exactly once; an order whose card is blocked fails into the dead-letter store, to be replayed
 * once the card is unblocked.
 */
@SpringBootApplication
public class PaymentOrdersApplication {
  public static void main(String[] args) {
    SpringApplication.run(PaymentOrdersApplication.class, args);
  }
}
