package dev.pgbroker;

/** The named queue does not exist; create it first with {@link Broker#createQueue}. */
public final class UnknownQueueException extends BrokerException {
  private static final long serialVersionUID = 1L;

  UnknownQueueException(String message, Throwable cause) {
    super(message, cause);
  }
}
