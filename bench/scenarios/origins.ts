// many origins: 200 receivers on distinct ports, each answering after 50 ms; 100 events fan out
// to one webhook per receiver (20,000 deliveries) → deliveries/s, and the TCP connections the
// receivers saw (distinct (receiver port, client port) pairs: Bun.serve has no connection hook,
// and a client port is not reused for the same receiver while it sits in TIME_WAIT). Beside it,
// the sum of each receiver's peak of concurrent requests: the connections reuse cannot avoid.
import { assertAccepted, publishMany } from "../load.ts";
import { type Scenario, scaled } from "../scenario.ts";
import { percentile, round } from "../stats.ts";

const TYPE = "bench.origins";
const SINKS = 200;
const DELAY_MS = 50;
const DELIVERIES = 20_000;
const CAP_MS = 120_000;
const OPENED = "hookline_outbound_connections_opened_total";

function spread(sorted: number[]): Record<string, number> {
  return { min: percentile(sorted, 0), p50: percentile(sorted, 50), p90: percentile(sorted, 90), max: percentile(sorted, 100) };
}

export const origins: Scenario = {
  name: "origins",
  budgetMs: () => 60_000 + 2 * CAP_MS,
  async run({ server, sink, knobs, log }) {
    // Each replica has its own connection pool and delivers what it ingested: the connection
    // figure is per replica (the total over N replicas is about N times one server's).
    const replicas = server.count;
    const ports = await sink.listen({ count: SINKS });
    await server.eventType(TYPE);
    await server.webhooks(
      ports.map((p) => `http://127.0.0.1:${p}/delay/${DELAY_MS}/origin`),
      [TYPE],
    );
    await sink.reset();
    const openedBefore = (await server.metric(OPENED)) ?? 0;
    await server.markCpu();
    const events = Math.ceil(scaled(DELIVERIES, knobs, SINKS) / SINKS);
    const expected = events * SINKS;
    log(`publishing ${events} events → ${expected} deliveries to ${SINKS} receivers`);
    const pub = assertAccepted(await publishMany(server, { total: events, concurrency: 8, type: TYPE, deadlineMs: CAP_MS }));
    const want = pub.accepted * SINKS;
    const { stats, finished } = await sink.waitFor((s) => s.distinct >= want, CAP_MS, 50);
    const seconds = (stats.lastAt - pub.startedAt) / 1_000;
    const opened = await server.metric(OPENED);
    return {
      metrics: [
        {
          key: "deliveries_per_s",
          name: `deliveries/s, ${SINKS} receivers × ${DELAY_MS} ms`,
          value: stats.distinct / seconds,
          unit: "dl/s",
          target: { cmp: "ge", value: 3_000 },
          ...(finished ? {} : { note: `only ${stats.distinct}/${want} within ${CAP_MS / 1000} s` }),
        },
        {
          key: "connections",
          name: replicas > 1 ? "new connections at the receivers per replica" : "new connections at the receivers",
          value: stats.connections / replicas,
          unit: "conns",
          // "≈ number of receivers": ✓ up to 1.5 × (concurrency 256 > 200 receivers allows 2 on some).
          target: { cmp: "le", value: SINKS * 1.5 },
          note:
            `${SINKS} receivers, ${stats.peakConcurrencySum} needed at their peaks` +
            (replicas > 1 ? `; ${stats.connections} from ${replicas} replicas` : ""),
        },
      ],
      extra: {
        events,
        deliveries: want,
        received: stats.distinct,
        duplicates: stats.duplicates,
        seconds: round(seconds, 3),
        connections: stats.connections,
        // The same seen from Hookline's pool (a cross-check of the receivers' count).
        ...(opened === undefined ? {} : { pool_opened: opened - openedBefore }),
        // Each receiver's most requests at once, summed: what one connection per concurrent
        // request needs. Connections above it were opened although one was idle somewhere.
        peak_concurrency_sum: stats.peakConcurrencySum,
        // Per receiver: how the count spreads (a few busy at the end, or every one twice).
        connections_per_receiver: spread(stats.connectionsPerPort),
      },
    };
  },
};
