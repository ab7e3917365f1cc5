package dev.pgbroker.server;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The queue, message id and lease that {@code ack}, {@code nack} and {@code extend} act on, as
 * {@code receive} prints them. They call the SQL API's functions: a delivery is named by these
 * three values there, which is all a shell script holds.
 */
final class LeaseArguments {
  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Parameters(index = "0", paramLabel = "<queue>")
  String queue;

  @Parameters(
      index = "1",
      paramLabel = "<id>",
      description = "The message id 'pgbroker receive' printed.")
  long id;

  @Parameters(
      index = "2",
      paramLabel = "<lease>",
      description = "The lease token 'pgbroker receive' printed.")
  String lease;

  UUID lease() {
    try {
      return UUID.fromString(lease);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(
          mixee.commandLine(),
          "<lease> must be a lease token as 'pgbroker receive' prints it (a UUID), was '"
              + lease
              + "'");
    }
  }

  /**
   * Runs {@code select <schema>.<function>(queue, id, lease, extra...)}; a false result means the
   * lease is stale, which fails with exit code 4.
   */
  void settle(BrokerSession s, String function, String what, Object... extra) {
    UUID token = lease();
    StringBuilder sql = new StringBuilder("select " + s.schema() + "." + function + "(?, ?, ?");
    for (int i = 0; i < extra.length; i++) {
      sql.append(", ?");
    }
    try (Connection c = s.dataSource().getConnection();
        PreparedStatement st = c.prepareStatement(sql.append(")").toString())) {
      st.setString(1, queue);
      st.setLong(2, id);
      st.setObject(3, token);
      for (int i = 0; i < extra.length; i++) {
        st.setObject(4 + i, extra[i]);
      }
      try (ResultSet rs = st.executeQuery()) {
        rs.next();
        if (!rs.getBoolean(1)) {
          throw new CommandFailure(
              ExitStatus.STALE_LEASE,
              "cannot "
                  + what
                  + " message "
                  + id
                  + " of queue "
                  + queue
                  + ": lease "
                  + token
                  + " is stale (it ran out and the message was delivered again, or it was already"
                  + " settled)",
              null);
        }
      }
    } catch (SQLException e) {
      throw SqlErrors.failure(what + " message " + id, e);
    }
  }
}
