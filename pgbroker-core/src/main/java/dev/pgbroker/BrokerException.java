package dev.pgbroker;

/** A broker operation failed for a reason other than bad input, such as a lost connection. */
public class BrokerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public BrokerException(String message, Throwable cause) {
    super(message, cause);
  }

  public BrokerException(String message) {
    super(message);
  }
}
