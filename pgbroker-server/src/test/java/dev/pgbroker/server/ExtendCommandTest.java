package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgbroker.Broker;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@code pgbroker extend}: a held lease lasts longer; a stale one and bad input change nothing. */
@ExtendWith(BrokerExtension.class)
class ExtendCommandTest {
  /** Messages whose lease (or due time) is still at least this far ahead, on the database clock. */
  private static final String LEASED_FOR_50_MIN =
      "select count(*) from %s.message"
          + " where lease is not null and visible_at > clock_timestamp() + interval '50 minutes'";

  @Test
  void extendsAHeldLeaseAndTheMessageStaysWithItsHolder(Broker broker, TestSchema schema) {
    broker.createQueue("jobs");
    long id = broker.send("jobs", "long job");
    Cli cli = new Cli(schema.name());
    JsonNode d =
        Cli.json(cli.run("receive", "jobs", "--visibility-timeout", "30s", "--json").out());
    String lease = d.get("lease").asText();
    assertThat(schema.count(LEASED_FOR_50_MIN)).isZero();

    CommandRun run = cli.run("extend", "jobs", String.valueOf(id), lease, "--for", "1h");
    assertThat(run.exitCode()).as(run.transcript()).isZero();
    assertThat(run.out()).contains("message " + id + " of queue jobs stays leased for 1h");
    assertThat(schema.count(LEASED_FOR_50_MIN)).isEqualTo(1);
    assertThat(broker.stats("jobs").inFlight()).isEqualTo(1);
    // the same lease still settles it
    assertThat(cli.run("ack", "jobs", String.valueOf(id), lease).exitCode()).isZero();
    assertThat(broker.stats("jobs").acked()).isEqualTo(1);
  }

  @Test
  void aLeaseThatRanOutIsStaleAndNotRevived(Broker broker, TestSchema schema) throws Exception {
    broker.createQueue("jobs");
    long id = broker.send("jobs", "x");
    Cli cli = new Cli(schema.name());
    JsonNode d =
        Cli.json(cli.run("receive", "jobs", "--visibility-timeout", "1ms", "--json").out());
    // the 1 ms lease runs out on the database clock
    while (schema.count("select count(*) from %s.message where visible_at > clock_timestamp()")
        > 0) {
      Thread.sleep(5);
    }

    CommandRun stale =
        cli.run("extend", "jobs", String.valueOf(id), d.get("lease").asText(), "--for", "1h");
    assertThat(stale.exitCode()).isEqualTo(ExitStatus.STALE_LEASE);
    assertThat(stale.err()).contains("cannot extend the lease of message " + id).contains("stale");
    assertThat(schema.count(LEASED_FOR_50_MIN)).isZero();
    assertThat(broker.stats("jobs").ready()).isEqualTo(1); // deliverable again, as it was

    CommandRun settled =
        cli.run(
            "extend", "jobs", String.valueOf(id + 1000), d.get("lease").asText(), "--for", "1h");
    assertThat(settled.exitCode()).isEqualTo(ExitStatus.STALE_LEASE);
  }

  @Test
  void badInputIsRefusedBeforeAnythingChanges(Broker broker, TestSchema schema) {
    broker.createQueue("jobs");
    long id = broker.send("jobs", "x");
    Cli cli = new Cli(schema.name());
    String lease =
        Cli.json(cli.run("receive", "jobs", "--visibility-timeout", "30s", "--json").out())
            .get("lease")
            .asText();
    String ids = String.valueOf(id);

    CommandRun noFor = cli.run("extend", "jobs", ids, lease);
    CommandRun zero = cli.run("extend", "jobs", ids, lease, "--for", "0");
    CommandRun notADuration = cli.run("extend", "jobs", ids, lease, "--for", "soon");
    CommandRun badLease = cli.run("extend", "jobs", ids, "not-a-lease", "--for", "1h");
    CommandRun badId = cli.run("extend", "jobs", "seven", lease, "--for", "1h");
    CommandRun unknownQueue = cli.run("extend", "nope", ids, lease, "--for", "1h");

    assertThat(noFor.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(noFor.err()).contains("Missing required option: '--for=<duration>'");
    assertThat(zero.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(zero.err()).contains("--for must be at least 1ms");
    assertThat(notADuration.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(notADuration.err()).contains("'soon' is not a duration");
    assertThat(badLease.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(badLease.err()).contains("<lease> must be a lease token");
    assertThat(badId.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(unknownQueue.exitCode()).isEqualTo(ExitStatus.NOT_FOUND);
    assertThat(unknownQueue.err()).contains("unknown queue 'nope'");
    assertThat(schema.count(LEASED_FOR_50_MIN)).isZero();

    CommandRun help = CommandRun.of("extend", "--help");
    assertThat(help.exitCode()).isZero();
    assertThat(help.out()).contains("Usage: pgbroker extend").contains("--for").contains("4");
  }
}
