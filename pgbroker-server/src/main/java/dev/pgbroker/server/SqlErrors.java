package dev.pgbroker.server;

import java.sql.SQLException;
import org.postgresql.util.PSQLException;

/** Turns an error of the SQL API into a one-line failure with the exit code its SQLSTATE means. */
final class SqlErrors {
  private SqlErrors() {}

  static CommandFailure failure(String action, SQLException e) {
    String state = String.valueOf(e.getSQLState());
    String message =
        e instanceof PSQLException p && p.getServerErrorMessage() != null
            ? p.getServerErrorMessage().getMessage()
            : e.getMessage();
    int code =
        switch (state) {
          case "PB001" -> ExitStatus.NOT_FOUND; // unknown queue
          case "PB002", "22P02", "22P05" -> ExitStatus.BAD_INPUT; // invalid argument or text
          default -> ExitStatus.FAILED;
        };
    return new CommandFailure(code, action + ": " + message, e);
  }
}
