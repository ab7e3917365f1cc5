package dev.pgbroker;

/**
 * The lease presented with an ack, nack or extend is no longer held: it expired and the message was
 * delivered again, or the message was already settled. Nothing was changed.
 */
public final class StaleLeaseException extends BrokerException {
  private static final long serialVersionUID = 1L;

  StaleLeaseException(String action, Delivery delivery) {
    super(
        "cannot "
            + action
            + " message "
            + delivery.id()
            + " in queue '"
            + delivery.queue()
            + "': lease "
            + delivery.lease()
            + " (attempt "
            + delivery.attempt()
            + ") is no longer held; it expired and the message was redelivered, or it was"
            + " already settled");
  }
}
