// slow neighbour: a fast webhook's delivery rate alone, then again while a second webhook whose
// receiver never answers (delivery.timeout = 10 s) gets every event too → pair / solo rate.
import { assertAccepted, publishMany } from "../load.ts";
import { type Ctx, type Scenario, scaled } from "../scenario.ts";
import { round } from "../stats.ts";

const SOLO = "bench.solo";
const PAIR = "bench.pair";
const EVENTS = 10_000;
const PUBLISHERS = 64;
const CAP_MS = 90_000;
const FAST_PATH = "/fast/neighbour";

/** Publishes `total` events of `type`; returns the fast receiver's rate (deliveries/s). */
async function fastRate(ctx: Ctx, type: string, total: number): Promise<{ rate: number; received: number; finished: boolean }> {
  const { server, sink } = ctx;
  await sink.reset();
  const pub = assertAccepted(await publishMany(server, { total, concurrency: PUBLISHERS, type, deadlineMs: CAP_MS }));
  const fast = (s: { perPath?: Record<string, [number, number]> }) => s.perPath?.[FAST_PATH] ?? [0, 0];
  const { stats, finished } = await sink.waitFor((s) => fast(s)[0] >= pub.accepted, CAP_MS, 25, { paths: true });
  const [received, lastAt] = fast(stats);
  return { rate: received / ((lastAt - pub.startedAt) / 1_000), received, finished };
}

export const neighbour: Scenario = {
  name: "neighbour",
  delivery: { timeout: "10s" },
  budgetMs: () => 60_000 + 4 * CAP_MS,
  async run(ctx) {
    const { server, sink, knobs, log } = ctx;
    const [port] = await sink.listen({ count: 1 });
    await server.eventType(SOLO);
    await server.eventType(PAIR);
    await server.webhooks([`http://127.0.0.1:${port}${FAST_PATH}`], [SOLO, PAIR]);
    await server.webhooks([`http://127.0.0.1:${port}/hang/neighbour`], [PAIR]);
    const total = scaled(EVENTS, knobs, 200);
    await fastRate(ctx, SOLO, Math.min(1_000, Math.ceil(total / 10))); // warm-up, not counted
    await server.markCpu();
    log(`fast webhook alone: ${total} events`);
    const solo = await fastRate(ctx, SOLO, total);
    log(`solo ${solo.rate.toFixed(0)}/s; now beside the hanging webhook`);
    const pair = await fastRate(ctx, PAIR, total);
    log(`beside the hanging one ${pair.rate.toFixed(0)}/s`);
    const incomplete = [solo.finished ? "" : "solo", pair.finished ? "" : "pair"].filter(Boolean).join(", ");
    return {
      metrics: [
        {
          key: "fast_rate_pct",
          name: "fast webhook rate beside a hanging one / alone",
          value: (pair.rate / solo.rate) * 100,
          unit: "%",
          target: { cmp: "ge", value: 90 },
          note: `${Math.round(pair.rate)} vs ${Math.round(solo.rate)} dl/s${incomplete ? `; ${incomplete} incomplete` : ""}`,
        },
      ],
      extra: {
        events: total,
        solo_per_s: round(solo.rate, 0),
        pair_per_s: round(pair.rate, 0),
        solo_received: solo.received,
        pair_received: pair.received,
      },
    };
  },
};
