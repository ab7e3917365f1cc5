package dev.pgbroker.examples.payments;

import dev.pgbroker.Broker;
import dev.pgbroker.DeadLetter;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/** The HTTP face: place and look up orders, block cards, list and replay dead letters. */
@RestController
class OrderController {
  record NewOrder(String customer, BigDecimal amount, String card) {}

  private final Orders orders;
  private final Broker broker;

  OrderController(Orders orders, Broker broker) {
    this.orders = orders;
    this.broker = broker;
  }

  @PostMapping("/orders")
  @ResponseStatus(HttpStatus.CREATED)
  Map<String, Object> place(@RequestBody NewOrder order) {
    if (order.customer() == null || order.customer().isBlank()) {
      throw badRequest("customer is required");
    }
    if (order.card() == null || order.card().isBlank()) {
      throw badRequest("card is required");
    }
    if (order.amount() == null || order.amount().signum() <= 0) {
      throw badRequest("amount must be > 0, was " + order.amount());
    }
    long id = orders.place(order.customer(), order.amount(), order.card());
    return Map.of("id", id, "status", "PENDING");
  }

  @GetMapping("/orders/{id}")
  Map<String, Object> find(@PathVariable("id") long id) {
    return orders.find(id).stream()
        .findFirst()
        .orElseThrow(
            () -> new ResponseStatusException(HttpStatus.NOT_FOUND, "no order with id " + id));
  }

  @GetMapping("/orders/summary")
  Map<String, Object> summary() {
    return orders.summary();
  }

  @PutMapping("/blocked-cards/{card}")
  void block(@PathVariable("card") String card) {
    orders.block(card);
  }

  @DeleteMapping("/blocked-cards/{card}")
  Map<String, Object> unblock(@PathVariable("card") String card) {
    return Map.of("unblocked", orders.unblock(card));
  }

  @GetMapping("/dead-letters")
  List<Map<String, Object>> deadLetters() {
    return broker.deadLetters(Orders.QUEUE).list(100).stream()
        .map(d -> Map.<String, Object>of("id", d.id(), "error", describe(d)))
        .toList();
  }

  @PostMapping("/dead-letters/replay")
  Map<String, Object> replay() {
    return Map.of("replayed", broker.deadLetters(Orders.QUEUE).replayAll());
  }

  private static String describe(DeadLetter d) {
    String e = d.lastError();
    return e == null ? "" : e;
  }

  private static ResponseStatusException badRequest(String why) {
    return new ResponseStatusException(HttpStatus.BAD_REQUEST, why);
  }
}
