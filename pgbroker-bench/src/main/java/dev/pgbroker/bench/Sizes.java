package dev.pgbroker.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How much work each scenario does. The defaults finish the whole run in about 13 minutes on a
 * 2-core machine; {@link #quick()} is the CI smoke size, where only "it runs" matters.
 *
 * @param messages messages per throughput scenario (sends, raw queue, small-backlog drain)
 * @param backlog the large backlog the worker drains
 * @param singleSends one-message transactions in the transactional-send scenario
 * @param latencySamples spaced sends per pgbroker latency figure
 * @param latencySpacingMs gap between those sends
 * @param peerMessages messages for each peer's enqueue and processing figures
 * @param peerLatencySamples spaced enqueues per peer latency figure
 * @param concurrency handlers (pgbroker) or worker threads (peers) running at once: 500, where the
 *     peers were as fast as or faster than at 64 (pgbroker, which prefetches, is the same)
 * @param threads client threads for producers and the raw-SQL consumers
 * @param orderedMessages messages of each ordering-key drain (and of its unkeyed twin)
 * @param fewKeys ordering keys of the few-keys drain; the many-keys drain gives every message a key
 *     of its own
 * @param someKeys ordering keys of the drain between the two
 * @param heldBacklog messages waiting behind the one held key of the held-key reads
 * @param heldReads unkeyed messages read in batches, with and without that backlog
 * @param warmUp messages drained untimed before the first timed drain, so that the JIT has compiled
 *     the consumer's code, as in a service that has been running for a while
 * @param steadySeconds how long the steady-state row runs
 */
record Sizes(
    int messages,
    int backlog,
    int singleSends,
    int latencySamples,
    int latencySpacingMs,
    int peerMessages,
    int peerLatencySamples,
    int concurrency,
    int threads,
    int orderedMessages,
    int fewKeys,
    int someKeys,
    int heldBacklog,
    int heldReads,
    int warmUp,
    int steadySeconds) {

  static Sizes defaults() {
    return new Sizes(
        500_000, 1_000_000, 10_000, 250, 20, 500_000, 50, 500, 4, 10_000, 5, 100, 100_000, 20_000,
        50_000, 60);
  }

  static Sizes quick() {
    return new Sizes(2_000, 5_000, 400, 20, 20, 1_000, 5, 16, 4, 50, 5, 10, 500, 300, 500, 2);
  }

  Sizes with(Integer messages, Integer backlog, Integer peerMessages, Integer concurrency) {
    return new Sizes(
        messages != null ? messages : this.messages,
        backlog != null ? backlog : this.backlog,
        singleSends,
        latencySamples,
        latencySpacingMs,
        peerMessages != null ? peerMessages : messages != null ? messages : this.peerMessages,
        peerLatencySamples,
        concurrency != null ? concurrency : this.concurrency,
        threads,
        orderedMessages,
        fewKeys,
        someKeys,
        heldBacklog,
        heldReads,
        warmUp,
        steadySeconds);
  }

  Map<String, Object> asMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("messages", messages);
    m.put("backlog", backlog);
    m.put("singleSends", singleSends);
    m.put("latencySamples", latencySamples);
    m.put("latencySpacingMs", latencySpacingMs);
    m.put("peerMessages", peerMessages);
    m.put("peerLatencySamples", peerLatencySamples);
    m.put("concurrency", concurrency);
    m.put("threads", threads);
    m.put("orderedMessages", orderedMessages);
    m.put("fewKeys", fewKeys);
    m.put("someKeys", someKeys);
    m.put("heldBacklog", heldBacklog);
    m.put("heldReads", heldReads);
    m.put("warmUp", warmUp);
    m.put("steadySeconds", steadySeconds);
    return m;
  }

  /** A label suffix when the peers run another message count than pgbroker, else empty. */
  String peerSizeNote() {
    return peerMessages == messages
        ? ""
        : " (" + PgbrokerScenarios.count(peerMessages) + " messages)";
  }
}
