package dev.pgbroker;

/**
 * The named topic does not exist; create it with {@link Topics#create}, or subscribe to it (which
 * creates it).
 */
public final class UnknownTopicException extends BrokerException {
  private static final long serialVersionUID = 1L;

  UnknownTopicException(String message, Throwable cause) {
    super(message, cause);
  }
}
