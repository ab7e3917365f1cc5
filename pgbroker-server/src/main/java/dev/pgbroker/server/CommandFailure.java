package dev.pgbroker.server;

/**
 * A failure the user can act on, such as an unreachable server; its message is the whole story, so
 * it is printed as one line without a stack trace.
 */
final class CommandFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int exitCode;

  CommandFailure(String message) {
    this(message, (Throwable) null);
  }

  CommandFailure(String message, Throwable cause) {
    this(ExitStatus.FAILED, message, cause);
  }

  /** A failure with its own exit code, one of {@link ExitStatus}'s. */
  CommandFailure(int exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  int exitCode() {
    return exitCode;
  }
}
