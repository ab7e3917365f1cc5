package dev.pgbroker.testing;

import dev.pgbroker.Broker;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives each test a {@link Broker} over a schema of its own, migrated fresh and dropped after the
 * test, on the server {@link TestDatabase} chose. Inject {@link Broker}, {@link DataSource} or
 * {@link TestSchema} as test method parameters.
 */
public final class BrokerExtension
    implements BeforeEachCallback, AfterEachCallback, ParameterResolver {
  private static final AtomicInteger COUNTER = new AtomicInteger();
  private static final ExtensionContext.Namespace NS =
      ExtensionContext.Namespace.create(BrokerExtension.class);

  @Override
  public void beforeEach(ExtensionContext context) {
    String schema = "t_" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
    drop(schema);
    Broker broker = Broker.create(TestDatabase.dataSource()).schema(schema).build();
    context.getStore(NS).put(TestSchema.class, new TestSchema(schema, broker));
  }

  @Override
  public void afterEach(ExtensionContext context) {
    TestSchema s = context.getStore(NS).get(TestSchema.class, TestSchema.class);
    if (s != null) {
      drop(s.name());
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
    Class<?> type = p.getParameter().getType();
    return type == Broker.class || type == DataSource.class || type == TestSchema.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext e) {
    Class<?> type = p.getParameter().getType();
    TestSchema s = e.getStore(NS).get(TestSchema.class, TestSchema.class);
    if (type == Broker.class) {
      return s.broker();
    }
    if (type == TestSchema.class) {
      return s;
    }
    return TestDatabase.dataSource();
  }

  private static void drop(String schema) {
    try (Connection c = TestDatabase.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.execute("drop schema if exists " + schema + " cascade");
    } catch (SQLException e) {
      throw new IllegalStateException("cannot drop test schema " + schema, e);
    }
  }
}
