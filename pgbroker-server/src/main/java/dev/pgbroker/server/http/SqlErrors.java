package dev.pgbroker.server.http;

import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/** The SQL functions' own refusals (PB001 to PB003) as API errors; anything else is ours. */
final class SqlErrors {
  private SqlErrors() {}

  static RuntimeException toApiError(PSQLException e) {
    ServerErrorMessage server = e.getServerErrorMessage();
    String message = server == null ? null : server.getMessage();
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    switch (state) {
      case "PB001":
        return ApiError.notFound("unknown_queue", message);
      case "PB002":
        return ApiError.badRequest(message);
      case "PB003":
        return ApiError.notFound("unknown_topic", message);
      default:
        return new IllegalStateException("database call failed", e);
    }
  }
}
