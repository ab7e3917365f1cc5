package dev.pgbroker.server.http;

/**
 * A request the API refuses: sent back as {@code {"code": ..., "message": ...}} with its status.
 * The message names what was wrong and what is allowed; it never holds a stack trace.
 */
final class ApiError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  final int status;
  final String code;

  ApiError(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }

  static ApiError badRequest(String message) {
    return new ApiError(400, "invalid_argument", message);
  }

  static ApiError notFound(String code, String message) {
    return new ApiError(404, code, message);
  }
}
