package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The SQL functions other languages use agree with the Java API in both directions. */
@ExtendWith(BrokerExtension.class)
class SqlApiTest {

  @Test
  void messageSentWithSqlInsideATransactionIsReceivedByJava(
      Broker broker, DataSource ds, TestSchema s) throws Exception {
    s.execute("select %s.create_queue('mixed', '{\"max_attempts\": 3}')");
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      query(
          c,
          "select %s.send('mixed', '{\"n\": 1}', '{\"headers\": {\"from\": \"python\"}, \"priority\": 2}')",
          s);
      query(c, "select %s.send_batch('mixed', array['{\"n\": 2}', '{\"n\": 3}']::jsonb[])", s);
      query(c, "select %s.send('mixed', '{\"n\": 99}')", s);
      c.rollback();
      query(
          c,
          "select %s.send('mixed', '{\"n\": 1}', '{\"headers\": {\"from\": \"python\"}, \"priority\": 2}')",
          s);
      query(c, "select %s.send_batch('mixed', array['{\"n\": 2}', '{\"n\": 3}']::jsonb[])", s);
      c.commit();
    }

    List<Delivery> got = broker.read("mixed", 10);
    assertThat(got)
        .extracting(Delivery::payloadJson)
        .containsExactly("{\"n\": 1}", "{\"n\": 2}", "{\"n\": 3}");
    assertThat(got.get(0).headers()).containsEntry("from", "python");
    assertThat(broker.queueOptions("mixed").maxAttempts()).isEqualTo(3);
  }

  @Test
  void messageSentByJavaIsReadAckedAndNackedWithSql(Broker broker, DataSource ds, TestSchema s)
      throws Exception {
    broker.createQueue("tosql");
    broker.sendBatch("tosql", List.of("a", "b"));
    try (Connection c = ds.getConnection()) {
      List<List<Object>> rows =
          query(
              c,
              "select id, lease::text, attempt, payload::text from %s.read('tosql', 10, 30000) order by id",
              s);
      assertThat(rows).hasSize(2);
      assertThat(rows.get(0).get(3)).isEqualTo("\"a\"");
      assertThat(rows.get(0).get(2)).isEqualTo(1);
      long idA = (Long) rows.get(0).get(0);
      String leaseA = (String) rows.get(0).get(1);
      long idB = (Long) rows.get(1).get(0);
      String leaseB = (String) rows.get(1).get(1);

      assertThat(query(c, "select %s.ack('tosql', " + idA + ", '" + leaseA + "')", s).get(0).get(0))
          .isEqualTo(true);
      assertThat(query(c, "select %s.ack('tosql', " + idA + ", '" + leaseA + "')", s).get(0).get(0))
          .as("second ack of the same lease")
          .isEqualTo(false);
      assertThat(
              query(
                      c,
                      "select %s.nack('tosql', " + idB + ", '" + leaseB + "', 'sql says no', 0)",
                      s)
                  .get(0)
                  .get(0))
          .isEqualTo(true);
    }

    Delivery retried = broker.read("tosql", 10).get(0);
    assertThat(retried.payload(String.class)).isEqualTo("b");
    assertThat(retried.attempt()).isEqualTo(2);
    QueueStats stats = broker.stats("tosql");
    assertThat(stats.acked()).isEqualTo(1);
    assertThat(stats.failed()).isEqualTo(1);
  }

  private static List<List<Object>> query(Connection c, String template, TestSchema s)
      throws Exception {
    try (PreparedStatement ps = c.prepareStatement(template.replace("%s", s.name()));
        ResultSet rs = ps.executeQuery()) {
      List<List<Object>> rows = new ArrayList<>();
      while (rs.next()) {
        List<Object> row = new ArrayList<>();
        for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
          row.add(rs.getObject(i));
        }
        rows.add(row);
      }
      return rows;
    }
  }
}
