package dev.pgbroker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgbroker.testing.BrokerExtension;
import dev.pgbroker.testing.TestSchema;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the property tests found: text that PostgreSQL cannot store, or that Java would have stored
 * changed, is refused with {@link IllegalArgumentException} and writes nothing.
 */
@ExtendWith(BrokerExtension.class)
class InputEncodingTest {
  private Broker broker;
  private TestSchema schema;

  @BeforeEach
  void queue(Broker broker, TestSchema schema) {
    this.broker = broker;
    this.schema = schema;
    broker.createQueue("jobs");
  }

  @Test
  void aLoneSurrogateIsRefusedInsteadOfStoredAsAQuestionMark() {
    assertThatThrownBy(() -> broker.send("jobs", "ab\ud800"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "payload 0 holds an unpaired UTF-16 surrogate (\\ud800) at character 3, which UTF-8"
                + " cannot encode");
    assertThatThrownBy(() -> broker.send("jobs", 1, SendOptions.none().header("h", "\udc00")))
        .hasMessageStartingWith("headers holds an unpaired UTF-16 surrogate");
    assertThatThrownBy(() -> SendOptions.none().orderingKey("k\ud800"))
        .hasMessageStartingWith("orderingKey holds an unpaired UTF-16 surrogate");
    assertThatThrownBy(() -> SendOptions.none().dedupKey("k\u0000"))
        .hasMessage("dedupKey must not contain the NUL character (\\u0000)");
    assertThat(broker.send("jobs", "pair \ud83d\ude00 kept")).isPositive();
    assertThat(broker.read("jobs", 10).get(0).payload(String.class))
        .isEqualTo("pair \ud83d\ude00 kept");
  }

  @Test
  void jsonTextIsCheckedWholeAndItsBytesMustBeUtf8() {
    assertThatThrownBy(() -> Json.of("{\"a\":1}{"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not valid JSON");
    assertThatThrownBy(() -> Json.of(new byte[] {'"', (byte) 0xC3, '"'}))
        .hasMessage("payload is not valid JSON: its bytes are not UTF-8");
    assertThat(Json.of("\"é\"".getBytes(StandardCharsets.UTF_8)).text()).isEqualTo("\"é\"");
    assertThatThrownBy(() -> broker.send("jobs", Json.of("1e999999")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("beyond the range of PostgreSQL's numeric");
    assertThatThrownBy(() -> broker.send("jobs", Json.of("\"\\u0000\"")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("PostgreSQL stores no NUL character");
    assertThat(schema.count("select count(*) from %s.message")).isZero();
  }

  @Test
  void aNulCharacterInAnErrorTextDoesNotMakeTheNackFail() {
    broker.send("jobs", 1);
    Delivery d = broker.read("jobs", 1).get(0);
    assertThat(broker.nack(d, "bad\u0000byte")).isTrue();
    assertThat(broker.messages("jobs").list(1).get(0).errors().get(0).error())
        .isEqualTo("bad\\u0000byte");
  }
}
