package dev.pgbroker.server;

/**
 * A failure the user can act on, such as an unreachable server; its message is the whole story, so
 * it is printed as one line without a stack trace.
 */
final class CommandFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  CommandFailure(String message) {
    super(message);
  }

  CommandFailure(String message, Throwable cause) {
    super(message, cause);
  }
}
