package dev.pgbroker.server.http;

import dev.pgbroker.Broker;
import dev.pgbroker.testing.TestDatabase;
import java.util.List;

/** Starts an {@link HttpApi} on a free port over a test's broker, with known tokens. */
final class Servers {
  static final String ADMIN = "admin-token-0123456789";
  static final String READER = "reader-token-0123456789";

  private Servers() {}

  static HttpApi start(Broker broker) throws Exception {
    return HttpApi.start(
        broker,
        TestDatabase.dataSource(),
        new ApiSettings("127.0.0.1", 0, List.of(ADMIN), List.of(READER), 64 * 1024));
  }
}
