package dev.pgbroker.bench;

import static dev.pgbroker.bench.PgbrokerScenarios.QUEUE;
import static dev.pgbroker.bench.PgbrokerScenarios.count;

import dev.pgbroker.Broker;
import dev.pgbroker.SendOptions;
import dev.pgbroker.bench.Load.Measured;
import java.util.Map;

/**
 * Topic publishing through the public API: publishBatch to a topic with 1, 3 and 10 subscriptions,
 * against sendBatch of the same messages to one queue in the same run. A tenth of --messages each,
 * as ten subscriptions store ten copies.
 */
final class TopicScenarios {
  static final String TOPIC = "bench-topic";
  private static final int BATCH = 100;

  private final PgbrokerScenarios pgbroker;
  private final Sizes sizes;
  private final Progress progress;

  TopicScenarios(Server server, Sizes sizes, Progress progress) {
    this.pgbroker = new PgbrokerScenarios(server, sizes, progress);
    this.sizes = sizes;
    this.progress = progress;
  }

  void run(Results r) {
    int n = Math.max(1_000, sizes.messages() / 10);
    String what = count(n) + " messages, batches of " + BATCH + ", " + sizes.threads() + " threads";
    Load.rate(
        r,
        progress,
        "pgbroker.publish_none",
        "pgbroker: sendBatch to one queue (the publish rows' reference), " + what,
        () -> pgbroker.fresh((b, ds) -> publish(b, n, 0)));
    for (int subs : new int[] {1, 3, 10}) {
      Load.rate(
          r,
          progress,
          "pgbroker.publish_" + subs,
          "pgbroker: publishBatch to a topic with " + subs + " subscription(s), " + what,
          () -> pgbroker.fresh((b, ds) -> publish(b, n, subs)));
    }
  }

  /** Publishes n messages to a topic with {@code subs} subscriptions, or sends them when 0. */
  private Measured publish(Broker broker, int n, int subs) throws Exception {
    for (int s = 0; s < subs; s++) {
      broker.topics().subscribe(TOPIC, "sub-" + s);
    }
    progress.phase("pgbroker: publishing " + count(n) + " to " + subs + " subscription(s)");
    Measured m =
        pgbroker.batches(
            n,
            BATCH,
            payloads -> {
              if (subs == 0) {
                broker.sendBatch(QUEUE, payloads, SendOptions.none());
              } else {
                broker.publishBatch(TOPIC, payloads, SendOptions.none());
              }
            });
    return new Measured(n, m.nanos(), null, Map.of("subscriptions", subs));
  }
}
