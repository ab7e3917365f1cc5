package dev.pgbroker.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgbroker.Broker;
import dev.pgbroker.Delivery;
import dev.pgbroker.ScheduledTask;
import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(BrokerExtension.class)
class TopicAndScheduleCommandsTest {
  @Test
  void publishFansOutThroughTheFiltersSubscribeSet(Broker broker, TestSchema schema) {
    Cli cli = new Cli(schema.name());
    assertThat(
            cli.run("topic", "subscribe", "orders", "billing", "--type", "order.paid").exitCode())
        .isZero();
    assertThat(cli.run("topic", "subscribe", "orders", "eu", "--filter", "region=eu,uk").exitCode())
        .isZero();
    assertThat(cli.run("topic", "subscribe", "orders", "audit").exitCode()).isZero();

    CommandRun paidEu =
        cli.run(
            "topic",
            "publish",
            "orders",
            "{\"o\": 1}",
            "--type",
            "order.paid",
            "-H",
            "region=uk",
            "--json");
    CommandRun newUs =
        cli.run(
            "topic", "publish", "orders", "{\"o\": 2}", "--type", "order.new", "-H", "region=us");
    CommandRun list = cli.run("topic", "list", "--json");

    assertThat(paidEu.exitCode()).as(paidEu.transcript()).isZero();
    assertThat(Cli.json(paidEu.out()).get("copies").asInt()).isEqualTo(3);
    assertThat(newUs.out().strip()).isEqualTo("1");
    assertThat(broker.stats("audit").ready()).isEqualTo(2);
    assertThat(broker.stats("billing").ready()).isEqualTo(1);
    List<Delivery> eu = broker.read("eu", 10);
    assertThat(eu).hasSize(1);
    assertThat(eu.get(0).headers()).containsEntry("type", "order.paid");
    JsonNode topic = Cli.jsonLines(list.out()).get(0);
    assertThat(topic.get("topic").asText()).isEqualTo("orders");
    assertThat(topic.get("subscriptions")).hasSize(3);
  }

  @Test
  void topicMistakesAreClearAndChangeNothing(Broker broker, TestSchema schema) {
    Cli cli = new Cli(schema.name());
    broker.topics().subscribe("t", "sub");

    CommandRun unknownTopic = cli.run("topic", "publish", "nope", "1");
    CommandRun unconfirmed = cli.run("topic", "unsubscribe", "t", "sub");
    CommandRun notSubscribed = cli.run("topic", "unsubscribe", "t", "other", "--yes");
    CommandRun deleteUnconfirmed = cli.run("topic", "delete", "t");

    assertThat(unknownTopic.exitCode()).isEqualTo(ExitStatus.NOT_FOUND);
    assertThat(unknownTopic.err()).contains("nope");
    assertThat(unconfirmed.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(notSubscribed.exitCode()).isEqualTo(ExitStatus.NOT_FOUND);
    assertThat(deleteUnconfirmed.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(deleteUnconfirmed.err()).contains("1 subscription queues");
    assertThat(broker.topics().subscriptions("t")).hasSize(1);

    assertThat(cli.run("topic", "unsubscribe", "t", "sub", "--yes").exitCode()).isZero();
    assertThat(broker.queues()).doesNotContain("sub");
    assertThat(cli.run("topic", "delete", "t", "--yes").exitCode()).isZero();
    assertThat(broker.topics().names()).isEmpty();
  }

  @Test
  void aScheduleIsPutListedPausedAndFiresOnceAtItsTick(Broker broker, TestSchema schema) {
    broker.createQueue("reports");
    Cli cli = new Cli(schema.name());

    CommandRun put =
        cli.run(
            "schedule",
            "put",
            "nightly",
            "reports",
            "--cron",
            "0 2 * * *",
            "--time-zone",
            "Europe/Berlin",
            "--payload",
            "{\"report\": \"sales\"}",
            "--type",
            "report",
            "--json");
    assertThat(put.exitCode()).as(put.transcript()).isZero();
    assertThat(Cli.json(put.out()).get("next_run").asText()).endsWith("Z");

    assertThat(cli.run("schedule", "pause", "nightly").exitCode()).isZero();
    List<JsonNode> listed = Cli.jsonLines(cli.run("schedule", "list", "--json").out());
    assertThat(listed).hasSize(1);
    assertThat(listed.get(0).get("paused").asBoolean()).isTrue();
    assertThat(listed.get(0).get("time_zone").asText()).isEqualTo("Europe/Berlin");
    assertThat(cli.run("schedule", "resume", "nightly").exitCode()).isZero();

    // Its tick made due now, as if 02:00 had come: the database fires exactly one message. (Due
    // this instant: a second earlier, a real 02:00 could fall between it and the firing.)
    schema.execute("update %s.schedule set next_at = clock_timestamp()");
    schema.execute("select %s.fire_schedules()");
    schema.execute("select %s.fire_schedules()");
    List<Delivery> sent = broker.read("reports", 10);
    assertThat(sent).hasSize(1);
    assertThat(sent.get(0).payloadJson()).contains("sales");
    assertThat(sent.get(0).headers()).containsEntry("type", "report");
    ScheduledTask task = broker.schedules().list().get(0);
    assertThat(task.lastRun()).isNotNull();

    assertThat(cli.run("schedule", "remove", "nightly").exitCode()).isZero();
    assertThat(broker.schedules().list()).isEmpty();
  }

  @Test
  void scheduleMistakesAreClearAndChangeNothing(Broker broker, TestSchema schema) {
    broker.createQueue("q");
    Cli cli = new Cli(schema.name());

    CommandRun both = cli.run("schedule", "put", "s", "q", "--cron", "* * * * *", "--every", "1m");
    CommandRun tooOften = cli.run("schedule", "put", "s", "q", "--every", "10ms");
    CommandRun badCron = cli.run("schedule", "put", "s", "q", "--cron", "61 * * * *");
    CommandRun badZone =
        cli.run("schedule", "put", "s", "q", "--cron", "0 * * * *", "--time-zone", "Mars/Base");
    CommandRun noQueue = cli.run("schedule", "put", "s", "missing", "--every", "1m");
    CommandRun dedup = cli.run("schedule", "put", "s", "q", "--every", "1m", "--dedup-key", "k");
    CommandRun unknown = cli.run("schedule", "pause", "nope");

    assertThat(both.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(tooOften.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(tooOften.err()).contains("interval must be from 1 s");
    assertThat(badCron.exitCode()).as(badCron.transcript()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(badZone.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(badZone.err()).contains("--time-zone must be a region");
    assertThat(noQueue.exitCode()).isEqualTo(ExitStatus.NOT_FOUND);
    assertThat(dedup.exitCode()).isEqualTo(ExitStatus.BAD_INPUT);
    assertThat(dedup.err()).contains("no dedup key");
    assertThat(unknown.exitCode()).isEqualTo(ExitStatus.NOT_FOUND);
    assertThat(broker.schedules().list()).isEmpty();
  }
}
