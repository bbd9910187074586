// The stats roll-up behind GET /v1/stats/deliveries (API.md §12): recordOutcomes adds each
// attempt to its webhook's minute as succeeded, retried or failed and to its duration bin
// (domain/stats/rollup.ts), deliverySeries sums them per bucket, and the rows go with their
// webhook and with retention.
import { expect, test } from "bun:test";
import { DURATION_BINS, durationBin } from "../../src/domain/stats/rollup.ts";
import type { SeriesCell } from "../../src/domain/stats/series.ts";
import type { ClaimedDelivery, Store } from "../../src/domain/store.ts";
import { describeEveryStore } from "./describe-store.ts";
import { attemptOutcome, timeAfterIssuedIds } from "./records.ts";
import { claimAll, publish, subscribe } from "./steps.ts";

const MINUTE = 60_000;
const DISABLE_AFTER = 3 * 86_400_000;

/** A minute boundary after every id the suite issued. */
const minuteAfterIds = () => Math.ceil(timeAfterIssuedIds() / MINUTE) * MINUTE;

function sorted(cells: SeriesCell[]): SeriesCell[] {
  return cells.map((c) => ({ ...c })).sort((a, b) => a.index - b.index);
}

/** A bucket's expected cell: its counts per class, and the durations (ms) of its attempts. */
const cell = (
  index: number,
  counts: Partial<Record<"succeeded" | "retried" | "failed", number>>,
  durations: number[],
): SeriesCell => {
  const bins = new Array<number>(DURATION_BINS).fill(0);
  for (const ms of durations) bins[durationBin(ms)] = (bins[durationBin(ms)] ?? 0) + 1;
  return { index, succeeded: counts.succeeded ?? 0, retried: counts.retried ?? 0, failed: counts.failed ?? 0, bins };
};

/** `n` claimed deliveries of one new webhook (its own event type), published at `at`. */
async function claimed(store: Store, at: number, n: number, tenantId = "acme") {
  const type = `series.t${Math.random().toString(36).slice(2, 8)}`;
  const w = await subscribe(store, { createdAt: at, tenantId, events: [type] });
  for (let i = 0; i < n; i++) await publish(store, { createdAt: at, type, tenantId });
  const mine = (await claimAll(store, at)).filter((c) => c.webhookId === w.id);
  expect(mine).toHaveLength(n);
  return { webhook: w, claims: mine as ClaimedDelivery[] };
}

describeEveryStore("delivery series", (getStore) => {
  test("each attempt counts once, by its start minute and duration: 2xx succeeded, rescheduled retried, else failed", async () => {
    const store = getStore();
    const T = minuteAfterIds();
    const a = await claimed(store, T, 4);
    const [ok1, ok2, retry, exhausted] = a.claims as [ClaimedDelivery, ClaimedDelivery, ClaimedDelivery, ClaimedDelivery];
    await store.recordOutcomes(
      [
        // Two in one batch, same minute and bin: one row, counted twice.
        attemptOutcome(ok1, { at: T + 1_000, durationMs: 10 }),
        attemptOutcome(ok2, { at: T + 59_999, durationMs: 10 }),
        attemptOutcome(retry, { at: T + 2_000, durationMs: 40, result: "retry", nextAttemptAt: T + 5 * MINUTE }),
        attemptOutcome(exhausted, { at: T + MINUTE, durationMs: 100, result: "failed", statusCode: 404 }),
      ],
      T + MINUTE + 1,
      DISABLE_AFTER,
    );
    // A failed manual retry of the failed delivery, in a later batch: failed too (nothing rescheduled).
    await store.recordOutcomes(
      [attemptOutcome(exhausted, { at: T + 2 * MINUTE + 5, durationMs: 10, result: "retry", manual: true })],
      T + 2 * MINUTE + 6,
      DISABLE_AFTER,
    );
    const perMinute = await store.deliverySeries({ tenantId: "acme", from: T, until: T + 3 * MINUTE, bucketMs: MINUTE });
    expect(sorted(perMinute)).toEqual([
      cell(0, { succeeded: 2, retried: 1 }, [10, 10, 40]),
      cell(1, { failed: 1 }, [100]),
      cell(2, { failed: 1 }, [10]),
    ]);
    // Two-minute buckets sum the minutes they hold.
    const perTwo = await store.deliverySeries({ webhookId: a.webhook.id, from: T, until: T + 4 * MINUTE, bucketMs: 2 * MINUTE });
    expect(sorted(perTwo)).toEqual([cell(0, { succeeded: 2, retried: 1, failed: 1 }, [10, 10, 40, 100]), cell(1, { failed: 1 }, [10])]);
  });

  test("a series is one webhook's, one tenant's or every tenant's, and only minutes in [from, until)", async () => {
    const store = getStore();
    const T = minuteAfterIds();
    const a = await claimed(store, T, 2);
    const b = await claimed(store, T, 1);
    const other = await claimed(store, T, 1, "globex");
    const [early, inside] = a.claims as [ClaimedDelivery, ClaimedDelivery];
    await store.recordOutcomes(
      [
        attemptOutcome(early, { at: T - 1, durationMs: 10 }), // the minute before `from`
        attemptOutcome(inside, { at: T + 3 * MINUTE - 1, durationMs: 10 }),
        attemptOutcome(b.claims[0] as ClaimedDelivery, { at: T + 5, durationMs: 10 }),
        attemptOutcome(other.claims[0] as ClaimedDelivery, { at: T + 6, durationMs: 10 }),
      ],
      T + 3 * MINUTE,
      DISABLE_AFTER,
    );
    const range = { from: T, until: T + 3 * MINUTE, bucketMs: MINUTE };
    expect(sorted(await store.deliverySeries({ ...range, webhookId: a.webhook.id }))).toEqual([cell(2, { succeeded: 1 }, [10])]);
    expect(sorted(await store.deliverySeries({ ...range, tenantId: "acme" }))).toEqual([
      cell(0, { succeeded: 1 }, [10]),
      cell(2, { succeeded: 1 }, [10]),
    ]);
    expect(sorted(await store.deliverySeries(range))).toEqual([cell(0, { succeeded: 2 }, [10, 10]), cell(2, { succeeded: 1 }, [10])]);
    // The minute before is there for a range that holds it; `until` is exclusive.
    expect(sorted(await store.deliverySeries({ from: T - MINUTE, until: T, bucketMs: MINUTE, tenantId: "acme" }))).toEqual([
      cell(0, { succeeded: 1 }, [10]),
    ]);
    expect(await store.deliverySeries({ tenantId: "nobody", ...range })).toEqual([]);
  });

  test("the roll-up goes with its webhook, and with retention", async () => {
    const store = getStore();
    const T = minuteAfterIds();
    const gone = await claimed(store, T, 1);
    const kept = await claimed(store, T, 2);
    const [old, recent] = kept.claims as [ClaimedDelivery, ClaimedDelivery];
    await store.recordOutcomes(
      [
        attemptOutcome(gone.claims[0] as ClaimedDelivery, { at: T + 10, durationMs: 10 }),
        attemptOutcome(old, { at: T + 10, durationMs: 10 }),
        attemptOutcome(recent, { at: T + 2 * MINUTE, durationMs: 10 }),
      ],
      T + 2 * MINUTE,
      DISABLE_AFTER,
    );
    expect(await store.deleteWebhook(gone.webhook.id)).toBe(true);
    const range = { from: T, until: T + 3 * MINUTE, bucketMs: MINUTE, tenantId: "acme" };
    expect(sorted(await store.deliverySeries(range))).toEqual([cell(0, { succeeded: 1 }, [10]), cell(2, { succeeded: 1 }, [10])]);
    await store.purgeFinished(T + MINUTE, 100);
    expect(sorted(await store.deliverySeries(range))).toEqual([cell(2, { succeeded: 1 }, [10])]);
  });
});
