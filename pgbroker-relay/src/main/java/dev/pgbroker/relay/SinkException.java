package dev.pgbroker.relay;

/**
 * A broker's refusal of one message. A permanent refusal (unroutable, too large, an invalid
 * destination) sends the message to pgbroker's dead-letter store with the broker's reason; a
 * transient one (broker down, restarting, blocking publishers) makes the relay try again later.
 */
public final class SinkException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final boolean permanent;

  private SinkException(String reason, boolean permanent, Throwable cause) {
    super(reason, cause);
    this.permanent = permanent;
  }

  /** The broker will never take this message as it is. */
  public static SinkException permanent(String reason) {
    return new SinkException(reason, true, null);
  }

  /** The broker could not take the message now; it may later. */
  public static SinkException transientFault(String reason, Throwable cause) {
    return new SinkException(reason, false, cause);
  }

  public boolean permanent() {
    return permanent;
  }
}
