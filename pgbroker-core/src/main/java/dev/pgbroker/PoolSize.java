package dev.pgbroker;

import java.lang.reflect.Method;
import javax.sql.DataSource;

/** The most connections a pool hands out, for the pools that say; JDBC has no standard for it. */
final class PoolSize {
  /** Getter names of HikariCP, DBCP 2, Tomcat JDBC and c3p0, in that order. */
  private static final String[] GETTERS = {
    "getMaximumPoolSize", "getMaxTotal", "getMaxActive", "getMaxPoolSize"
  };

  private PoolSize() {}

  /** The pool's limit, or null when it does not tell (or has none). */
  static Integer of(DataSource ds) {
    for (String name : GETTERS) {
      try {
        Method m = ds.getClass().getMethod(name);
        Object v = m.invoke(ds);
        if (v instanceof Integer n && n > 0) {
          return n;
        }
      } catch (ReflectiveOperationException | RuntimeException notThisPool) {
        // try the next name
      }
    }
    return null;
  }
}
