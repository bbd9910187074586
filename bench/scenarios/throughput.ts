// ingest: 20,000 events of 1 KiB `data` from 64 concurrent keep-alive publishers → accepted/s.
// e2e: the same load, timed until one webhook's sink has received every accepted event.
// Both subscribe one webhook (each 202 commits the event and its delivery); the dispatcher
// runs alongside as in production. `ingest` then repeats the load with a type nobody subscribes
// to (no target: it shows what the ingest path costs without the deliveries beside it). A warm-up of up to 1,000 events comes first, not counted.
import { assertAccepted, publishMany } from "../load.ts";
import { type Ctx, type Outcome, type Scenario, scaled } from "../scenario.ts";
import { round } from "../stats.ts";

const TYPE = "bench.event";
const ALONE_TYPE = "bench.unsubscribed";
const EVENTS = 20_000;
const PUBLISHERS = 64;
const PUBLISH_CAP_MS = 120_000;
const DELIVERY_CAP_MS = 120_000;

async function load(ctx: Ctx, waitForDelivery: boolean): Promise<Outcome> {
  const { server, sink, knobs, log } = ctx;
  const [port] = await sink.listen({ count: 1 });
  await server.eventType(TYPE);
  await server.webhooks([`http://127.0.0.1:${port}/e2e`], [TYPE]);
  const total = scaled(EVENTS, knobs, 100);
  // Warm-up (not counted): connections, JIT and SQLite caches.
  const warm = assertAccepted(
    await publishMany(server, { total: Math.min(1_000, Math.ceil(total / 10)), concurrency: PUBLISHERS, type: TYPE, deadlineMs: 30_000 }),
  );
  await sink.waitFor((s) => s.total >= warm.accepted, 30_000);
  await sink.reset();
  await server.markCpu();
  log(`publishing ${total} events with ${PUBLISHERS} publishers`);
  const pub = assertAccepted(
    await publishMany(server, { total, concurrency: PUBLISHERS, type: TYPE, deadlineMs: PUBLISH_CAP_MS }),
  );
  const ingestS = (pub.lastAcceptedAt - pub.startedAt) / 1_000;
  const acceptedPerS = pub.accepted / ingestS;
  const extra: Record<string, unknown> = {
    events: total,
    accepted: pub.accepted,
    failed: pub.failed,
    problems: pub.problems,
    ingest_s: round(ingestS, 3),
    accepted_per_s: round(acceptedPerS, 0),
  };
  const note = pub.cutShort ? `cut at ${PUBLISH_CAP_MS / 1000} s` : pub.failed > 0 ? `${pub.failed} refused` : undefined;
  if (!waitForDelivery) {
    const s = await sink.stats();
    extra.delivered_meanwhile = s.total;
    // The server's CPU so far is the measured phase's (the table's CPU covers both phases).
    extra.cpu_s_measured = round((await server.usage()).cpuS, 2);
    // The same load again once the deliveries are done, of a type no webhook subscribes to: the
    // ingest path alone (parse, validate, commit, 202) without the dispatcher beside it.
    const drained = await sink.waitFor((st) => st.total >= pub.accepted, DELIVERY_CAP_MS);
    await server.eventType(ALONE_TYPE);
    const alone = assertAccepted(
      await publishMany(server, { total, concurrency: PUBLISHERS, type: ALONE_TYPE, deadlineMs: PUBLISH_CAP_MS }),
    );
    const aloneS = (alone.lastAcceptedAt - alone.startedAt) / 1_000;
    extra.alone_accepted_per_s = round(alone.accepted / aloneS, 0);
    const aloneNote = [
      drained.finished ? "" : `beside ${pub.accepted - drained.stats.total} deliveries still going`,
      alone.cutShort ? `cut at ${PUBLISH_CAP_MS / 1000} s` : "",
      alone.failed > 0 ? `${alone.failed} refused` : "",
    ]
      .filter(Boolean)
      .join("; ");
    return {
      metrics: [
        { key: "accepted_per_s", name: "accepted/s (64 publishers, 1 KiB)", value: acceptedPerS, unit: "ev/s", target: { cmp: "ge", value: 20_000 }, ...(note ? { note } : {}) },
        {
          key: "alone_accepted_per_s",
          name: "… of a type no webhook subscribes to",
          value: alone.accepted / aloneS,
          unit: "ev/s",
          ...(aloneNote ? { note: aloneNote } : {}),
        },
      ],
      extra,
    };
  }
  log(`accepted ${pub.accepted} in ${ingestS.toFixed(2)} s; waiting for delivery`);
  const { stats, finished } = await sink.waitFor((s) => s.distinct >= pub.accepted, DELIVERY_CAP_MS, 25);
  const e2eS = (stats.lastAt - pub.startedAt) / 1_000;
  extra.delivered = stats.distinct;
  extra.duplicates = stats.duplicates;
  extra.e2e_s = round(e2eS, 3);
  extra.connections = stats.connections;
  return {
    metrics: [
      {
        key: "deliveries_per_s",
        name: "end-to-end deliveries/s (1 webhook)",
        value: stats.distinct / e2eS,
        unit: "dl/s",
        target: { cmp: "ge", value: 10_000 },
        ...(finished ? {} : { note: `only ${stats.distinct}/${pub.accepted} within ${DELIVERY_CAP_MS / 1000} s` }),
      },
      { key: "accepted_per_s", name: "accepted/s during that run", value: acceptedPerS, unit: "ev/s", ...(note ? { note } : {}) },
    ],
    extra,
  };
}

export const ingest: Scenario = {
  name: "ingest",
  // The measured load, the wait for its deliveries, and the load again with nobody subscribed.
  budgetMs: () => 2 * PUBLISH_CAP_MS + DELIVERY_CAP_MS + 60_000,
  run: (ctx) => load(ctx, false),
};

export const e2e: Scenario = {
  name: "e2e",
  budgetMs: () => PUBLISH_CAP_MS + DELIVERY_CAP_MS + 60_000,
  run: (ctx) => load(ctx, true),
};
