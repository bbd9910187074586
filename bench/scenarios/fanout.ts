// fan-out: one event → 1,000 webhooks (distinct sink paths) → time from publishing to the last
// receipt. Done ROUNDS times, one event after the other; the median round is the figure.
import { eventBody } from "../load.ts";
import { type Scenario, scaled } from "../scenario.ts";
import { nowMs, percentile, round, sortedCopy } from "../stats.ts";

const TYPE = "bench.fanout";
const WEBHOOKS = 1_000;
const ROUNDS = 3;
const ROUND_CAP_MS = 30_000;

export const fanout: Scenario = {
  name: "fanout",
  budgetMs: () => 120_000 + ROUNDS * ROUND_CAP_MS,
  async run({ server, sink, knobs, log }) {
    const n = scaled(WEBHOOKS, knobs, 10);
    const [port] = await sink.listen({ count: 1 });
    await server.eventType(TYPE);
    log(`creating ${n} webhooks`);
    const urls = Array.from({ length: n }, (_, i) => `http://127.0.0.1:${port}/fanout/${i}`);
    await server.webhooks(urls, [TYPE], 8);
    await server.markCpu();
    const times: number[] = [];
    let incomplete = 0;
    for (let r = 0; r < ROUNDS; r++) {
      await sink.reset();
      const t0 = nowMs();
      const res = await fetch(`${server.nextUrl()}/v1/events`, {
        method: "POST",
        headers: server.headers,
        body: eventBody(TYPE, r),
        signal: AbortSignal.timeout(ROUND_CAP_MS),
      });
      const answer = (await res.json()) as { deliveries?: number };
      if (res.status !== 202) throw new Error(`publish answered ${res.status}`);
      const acceptMs = nowMs() - t0;
      const { stats, finished } = await sink.waitFor((s) => s.paths >= n, ROUND_CAP_MS, 5);
      if (!finished) incomplete++;
      const ms = finished ? stats.lastAt - t0 : Number.POSITIVE_INFINITY;
      times.push(ms);
      log(`round ${r + 1}: ${answer.deliveries} deliveries, 202 after ${acceptMs.toFixed(1)} ms, last receipt after ${ms.toFixed(1)} ms`);
      await Bun.sleep(200);
    }
    const sorted = sortedCopy(times);
    return {
      metrics: [
        {
          key: "last_receipt_ms",
          name: `1 event → ${n} webhooks, last receipt (median of ${ROUNDS})`,
          value: percentile(sorted, 50),
          unit: "ms",
          target: { cmp: "lt", value: 1_000 },
          ...(incomplete ? { note: `${incomplete} round(s) incomplete after ${ROUND_CAP_MS / 1000} s` } : {}),
        },
      ],
      extra: { webhooks: n, rounds_ms: times.map((t) => round(t, 1)) },
    };
  },
};
