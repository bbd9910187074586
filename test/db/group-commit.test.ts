// Group commit (src/db/group-commit.ts) on its own: which items share a batch, how many batches
// are in flight, and when each caller hears back. Driven: the test runs the deferred turns and
// settles each write itself, so nothing here waits for time.
import { describe, expect, test } from "bun:test";
import { type GroupCommitOptions, type GroupEntry, groupCommit } from "../../src/db/group-commit.ts";

/** A deferral the test runs by hand, and writes it settles by hand. */
function rig(opts: Partial<GroupCommitOptions<string>> = {}) {
  const turns: (() => void)[] = [];
  let turnQueued: (() => void) | undefined;
  const writes: { items: string[]; entries: GroupEntry<string, string>[]; finish(error?: unknown): void }[] = [];
  const queue = groupCommit<string, string>(
    (entries) =>
      new Promise<void>((resolve, reject) => {
        writes.push({
          items: entries.map((e) => e.item),
          entries,
          finish(error?: unknown) {
            if (error !== undefined) return reject(error);
            for (const e of entries) e.resolve(`written ${e.item}`);
            resolve();
          },
        });
      }),
    {
      maxItems: 3,
      maxSize: 10,
      sizeOf: (item) => item.length,
      inFlight: 2,
      defer: (fn) => {
        turns.push(fn);
        turnQueued?.();
      },
      ...opts,
    },
  );
  return {
    queue,
    writes,
    /** Runs the turns deferred so far (those they defer wait for the next call). */
    turn(): number {
      const now = turns.splice(0);
      for (const fn of now) fn();
      return now.length;
    },
    get deferred(): number {
      return turns.length;
    },
    /** Resolves when the queue defers a turn (after a write settled, say). */
    nextTurnQueued: () => new Promise<void>((r) => (turnQueued = r)),
  };
}

/** Records which promises have settled, and how. */
function track<T>(promises: Promise<T>[]) {
  const seen: (string | undefined)[] = promises.map(() => undefined);
  for (const [i, p] of promises.entries()) {
    p.then(
      (v) => (seen[i] = `ok ${String(v)}`),
      (e: unknown) => (seen[i] = `error ${e instanceof Error ? e.message : String(e)}`),
    );
  }
  return seen;
}

describe("group commit", () => {
  test("items submitted in one turn share one write; none is answered before that write settles it", async () => {
    const r = rig({ maxItems: 10, maxSize: 100 });
    const submitted = ["a", "b", "c"].map((x) => r.queue.submit(x));
    expect(r.writes).toHaveLength(0); // nothing is written synchronously
    r.turn();
    expect(r.writes.map((w) => w.items)).toEqual([["a", "b", "c"]]);
    const seen = track(submitted);
    await Promise.resolve();
    expect(seen).toEqual([undefined, undefined, undefined]);
    r.writes[0]?.finish();
    expect(await Promise.all(submitted)).toEqual(["written a", "written b", "written c"]);
  });

  test("a batch takes at most maxItems items", () => {
    const r = rig({ inFlight: 10 });
    for (const x of ["a", "b", "c", "d", "e"]) void r.queue.submit(x);
    r.turn();
    r.turn();
    expect(r.writes.map((w) => w.items)).toEqual([
      ["a", "b", "c"],
      ["d", "e"],
    ]);
  });

  test("a batch takes at most maxSize, and one item at least whatever its size", () => {
    const r = rig({ inFlight: 10 });
    for (const x of ["aaaa", "bbbb", "cccc", "dddddddddddddddd", "e"]) void r.queue.submit(x);
    for (let i = 0; i < 4; i++) r.turn();
    expect(r.writes.map((w) => w.items)).toEqual([["aaaa", "bbbb"], ["cccc"], ["dddddddddddddddd"], ["e"]]);
  });

  test("at most inFlight writes at once; what arrives meanwhile grows the next batch", async () => {
    const r = rig({ maxItems: 100, maxSize: 1_000 });
    void r.queue.submit("a");
    r.turn();
    void r.queue.submit("b");
    r.turn();
    expect(r.writes.map((w) => w.items)).toEqual([["a"], ["b"]]);
    // Two in flight: these wait, and are written together once a write settles.
    const later = ["c", "d", "e"].map((x) => r.queue.submit(x));
    expect(r.turn()).toBe(0);
    expect(r.deferred).toBe(0);
    const queued = r.nextTurnQueued();
    r.writes[1]?.finish();
    await queued;
    r.turn();
    expect(r.writes.map((w) => w.items)).toEqual([["a"], ["b"], ["c", "d", "e"]]);
    r.writes[2]?.finish();
    expect(await Promise.all(later)).toEqual(["written c", "written d", "written e"]);
  });

  test("a write that fails fails its own batch only", async () => {
    const r = rig({ inFlight: 10 });
    const first = ["a", "b", "c"].map((x) => r.queue.submit(x));
    const second = r.queue.submit("d");
    r.turn();
    r.turn();
    const seen = track([...first, second]);
    r.writes[0]?.finish(new Error("disk full"));
    r.writes[1]?.finish();
    await Promise.allSettled([...first, second]);
    expect(seen).toEqual(["error disk full", "error disk full", "error disk full", "ok written d"]);
  });

  test("a write may settle its items one by one: a bad item is rejected alone", async () => {
    const queue = groupCommit<string, string>(
      async (entries) => {
        for (const e of entries) e.item === "bad" ? e.reject(new Error("refused")) : e.resolve(e.item);
      },
      { maxItems: 10, maxSize: 100, sizeOf: () => 1, inFlight: 2 },
    );
    const seen = track(["a", "bad", "c"].map((x) => queue.submit(x)));
    await queue.drain();
    expect(seen).toEqual(["ok a", "error refused", "ok c"]);
  });

  test("drain settles what is queued and in flight, and only then resolves", async () => {
    // The default deferral (setImmediate) here: drain runs the turns itself.
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => (open = r));
    const started: string[] = [];
    let firstStarted: () => void = () => {};
    const first = new Promise<void>((r) => (firstStarted = r));
    const queue = groupCommit<string, string>(
      async (entries) => {
        started.push(...entries.map((e) => e.item));
        firstStarted();
        await gate;
        for (const e of entries) e.resolve(e.item);
      },
      { maxItems: 1, maxSize: 100, sizeOf: () => 1, inFlight: 2 },
    );
    const all = ["a", "b", "c"].map((x) => queue.submit(x));
    let drained = false;
    const drain = queue.drain().then(() => (drained = true));
    await first;
    expect(drained).toBe(false);
    open();
    await drain;
    expect(started).toEqual(["a", "b", "c"]);
    expect(await Promise.all(all)).toEqual(["a", "b", "c"]);
  });
});
