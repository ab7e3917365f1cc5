package dev.pgbroker.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgbroker.bench.Load.Measured;
import java.util.List;
import org.junit.jupiter.api.Test;

class RelayRatioTest {
  private static Measured took(long millis) {
    return new Measured(1_000, millis * 1_000_000);
  }

  @Test
  void theRatioIsTheMedianOfEachRoundsOwn() {
    // Round by round the relay takes 1.25, 2 and 1.1 times the bare client's time: 80%, 50%, 91%.
    // The medians of the times alone (120 and 150 ms) would say 80% as well, but round 2's slow
    // minute slowed the relay only, and its ratio must not be taken for the row's.
    List<Measured> bares = List.of(took(100), took(60), took(200));
    List<Measured> relays = List.of(took(125), took(120), took(220));

    assertThat(RelayScenarios.medianRatio(bares, relays)).isEqualTo(0.8);
  }

  @Test
  void aBrokerThatSlowsThroughTheRowWeighsOnEachRoundAlike() {
    // The broker halves its speed between rounds; the relay keeps 70% of the bare client in each.
    List<Measured> bares = List.of(took(100), took(200), took(400));
    List<Measured> relays = List.of(took(140), took(280), took(560));

    assertThat(RelayScenarios.medianRatio(bares, relays))
        .isCloseTo(0.714, org.assertj.core.data.Offset.offset(0.001));
  }
}
