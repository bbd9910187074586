// latency: 500 events/s paced for 10 s to one webhook → p50/p95/p99 of (sink receive time −
// publish time), matched per event id (the 202's `id` is the delivery's `webhook-id`). One
// second at the same rate warms connections up first and is not counted.
import { assertAccepted, publishPaced } from "../load.ts";
import type { Scenario } from "../scenario.ts";
import { percentile, round, sortedCopy } from "../stats.ts";

const TYPE = "bench.event";
const RATE = 500;
const DURATION_MS = 10_000;
const WAIT_CAP_MS = 30_000;

export const latency: Scenario = {
  name: "latency",
  budgetMs: (k) => Math.max(2_000, DURATION_MS * k.scale) * 3 + WAIT_CAP_MS + 30_000,
  async run({ server, sink, knobs, log }) {
    const [port] = await sink.listen({ count: 1 });
    await server.eventType(TYPE);
    await server.webhooks([`http://127.0.0.1:${port}/latency`], [TYPE]);
    await publishPaced(server, { ratePerS: RATE, durationMs: 1_000, type: TYPE, onAccepted: () => {} });
    await sink.waitFor((s) => s.total >= RATE, 10_000);
    await sink.reset(true);
    await server.markCpu();

    const durationMs = Math.max(2_000, Math.round(DURATION_MS * knobs.scale));
    const sentAt = new Map<string, number>();
    log(`publishing ${RATE}/s for ${durationMs / 1000} s`);
    const pub = assertAccepted(
      await publishPaced(server, {
      ratePerS: RATE,
      durationMs,
      type: TYPE,
      onAccepted: (id, at) => sentAt.set(id, at),
      }),
    );
    const { finished } = await sink.waitFor((s) => s.recorded >= sentAt.size, WAIT_CAP_MS, 50);
    const stats = await sink.stats({ receipts: true });
    const latencies: number[] = [];
    for (const [id, at] of stats.receipts ?? []) {
      const sent = sentAt.get(id);
      if (sent !== undefined) latencies.push(at - sent);
    }
    const sorted = sortedCopy(latencies);
    const missing = sentAt.size - latencies.length;
    const note = finished ? undefined : `${missing} not received within ${WAIT_CAP_MS / 1000} s`;
    const achieved = (pub.sent * 1_000) / durationMs;
    return {
      metrics: [
        { key: "p50_ms", name: `p50 publish→receive @${RATE}/s`, value: percentile(sorted, 50), unit: "ms", target: { cmp: "le", value: 5 } },
        { key: "p95_ms", name: `p95 publish→receive @${RATE}/s`, value: percentile(sorted, 95), unit: "ms" },
        {
          key: "p99_ms",
          name: `p99 publish→receive @${RATE}/s`,
          value: percentile(sorted, 99),
          unit: "ms",
          target: { cmp: "le", value: 20 },
          ...(note ? { note } : {}),
        },
      ],
      extra: {
        sent: pub.sent,
        accepted: pub.accepted,
        failed: pub.failed,
        measured: latencies.length,
        missing,
        achieved_rate: round(achieved, 1),
        max_publisher_lag_ms: round(pub.lateMs, 1),
        max_ms: round(sorted[sorted.length - 1] ?? Number.NaN, 2),
        p999_ms: round(percentile(sorted, 99.9), 2),
      },
    };
  },
};
