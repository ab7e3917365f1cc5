package dev.pgbroker.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.pgbroker.bench.Load.Measured;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class RelayRatioTest {
  private static List<Measured> took(long... millis) {
    return Arrays.stream(millis).mapToObj(ms -> new Measured(1_000, ms * 1_000_000)).toList();
  }

  @Test
  void theRowsRatioIsTheMiddleOneOfItsRounds() {
    // The relay's shares of the bare client's rate, round by round: 80%, 50%, 91%.
    assertThat(RelayScenarios.medianRatio(took(100, 60, 200), took(125, 120, 220)))
        .isEqualTo(0.8, within(1e-9));
  }

  @Test
  void eachRoundComparesTwoRunsOfTheSameMinute() {
    // The broker is three times faster from round 2 on, and the relay keeps 5/7 of the bare
    // client's rate but in round 2, which it ran before the change. The median rates (100 and
    // 420 ms) would compare a slow minute of the relay's with a fast one of the bare client's.
    assertThat(RelayScenarios.medianRatio(took(300, 100, 100), took(420, 420, 140)))
        .isEqualTo(5 / 7.0, within(1e-9));
  }
}
