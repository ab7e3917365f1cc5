package dev.pgbroker.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgbroker.Broker;
import dev.pgbroker.SendOptions;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Transactional;

@ExtendWith(BrokerExtension.class)
class TransactionalSendTest {

  /** Writes an order row and sends its message, in whatever transaction the caller has. */
  static class Orders {
    final PgBrokerTemplate template;
    final JdbcTemplate jdbc;
    final String schema;
    final TestSchema test;

    Orders(PgBrokerTemplate template, JdbcTemplate jdbc, TestSchema test) {
      this.template = template;
      this.jdbc = jdbc;
      this.schema = test.name();
      this.test = test;
    }

    @Transactional
    public void placeAndFail(int id) {
      place(id);
      throw new IllegalStateException("payment refused");
    }

    @Transactional
    public long placeAndLookFromOutside(int id) {
      place(id);
      // Another connection sees neither the order nor the message before the commit.
      return test.count("select count(*) from %s.message")
          + test.count("select count(*) from %s.orders");
    }

    @Transactional
    public void placeBatch(List<Integer> ids) {
      ids.forEach(id -> jdbc.update("insert into " + schema + ".orders values (?)", id));
      template.sendBatch("orders", ids, SendOptions.none());
    }

    public void place(int id) {
      jdbc.update("insert into " + schema + ".orders values (?)", id);
      template.send("orders", new Order(id));
    }
  }

  record Order(int id) {}

  @Test
  void aRollbackSendsNothingACommitSendsOnceAndOutsideATransactionASendCommitsAlone(
      TestSchema schema) {
    schema.execute("create table %s.orders (id int primary key)");
    Contexts.on(schema)
        .withBean(Orders.class)
        .withBean(TestSchema.class, () -> schema)
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              Orders orders = context.getBean(Orders.class);
              Broker broker = context.getBean(Broker.class);
              broker.createQueue("orders");

              assertThatThrownBy(() -> orders.placeAndFail(1)).hasMessage("payment refused");
              assertThat(schema.count("select count(*) from %s.orders")).isZero();
              assertThat(broker.stats("orders").sent()).isZero();
              assertThat(schema.count("select count(*) from %s.message")).isZero();

              assertThat(orders.placeAndLookFromOutside(2)).isZero();
              assertThat(schema.count("select count(*) from %s.orders")).isEqualTo(1);
              assertThat(broker.read("orders", 10))
                  .singleElement()
                  .satisfies(d -> assertThat(d.payload(Order.class)).isEqualTo(new Order(2)));

              orders.place(3); // no transaction: the row and the message each commit alone
              assertThat(broker.stats("orders").ready()).isEqualTo(1);

              orders.placeBatch(List.of(4, 5, 6));
              assertThat(broker.stats("orders").ready()).isEqualTo(4);
            });
  }
}
