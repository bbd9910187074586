import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Scheduler, systemScheduler } from "../../domain/clock.ts";
import { StorageUnavailableError } from "../../domain/errors.ts";
import type { Writer } from "./ops.ts";
import { encode, fromWire, type WireError, type WriterOp, type WriterResponse, type WriterThreadOptions } from "./protocol.ts";

// After the thread is lost, how long before a new one is started.
const RESPAWN_MS = 1_000;

/**
 * The hot-path writes on a thread of their own (writer/worker.ts) with its own connection. The
 * main thread keeps its connection for reads and the rarer writes (WAL lets it read while the
 * writer writes; a write there waits for the write lock, busy_timeout).
 *
 * Requests are answered in the order they were sent, each after its transaction committed, so
 * a 202 still means "on disk". If the thread is lost, the calls waiting for it and those made
 * meanwhile fail as storage unavailable (503), and a new thread is started a second later.
 */
export function startWriterThread(
  opts: WriterThreadOptions,
  onLost: (why: string) => void = () => {},
  // How long after a loss the next thread starts, on which timers (tests drive them).
  respawnMs = RESPAWN_MS,
  scheduler: Scheduler = systemScheduler,
): Writer {
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  let nextId = 1;
  let down: Error | undefined;
  let closed = false;
  let worker = spawn();

  function spawn(): Worker {
    const w = new Worker(workerUrl());
    // Referenced only while an answer is awaited: an idle writer does not keep the process alive.
    w.unref();
    w.onmessage = (e: MessageEvent<string>) => {
      const res = JSON.parse(e.data) as WriterResponse;
      const p = pending.get(res.id);
      if (p === undefined) return;
      pending.delete(res.id);
      if (pending.size === 0) w.unref();
      if (res.ok) p.resolve(res.value);
      else p.reject(fromWire(res.error));
    };
    w.onerror = (e: ErrorEvent) => lost(w, `writer thread failed: ${e.message}`);
    w.addEventListener("close", () => lost(w, "writer thread stopped"));
    // Queued before any other request: the worker handles messages in order.
    send<void>(w, "init", [opts]).catch((err: unknown) => lost(w, `writer could not open the database: ${String(err)}`));
    return w;
  }

  function lost(w: Worker, why: string): void {
    if (w !== worker || closed || down) return;
    down = new StorageUnavailableError(why);
    for (const p of pending.values()) p.reject(down);
    pending.clear();
    w.terminate();
    onLost(why);
    scheduler.setTimeout(() => {
      if (closed) return;
      down = undefined;
      worker = spawn();
    }, respawnMs);
  }

  function send<T>(w: Worker, op: WriterOp, args: unknown[]): Promise<T> {
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      if (pending.size === 0) w.ref();
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      w.postMessage(encode({ id, op, args }));
    });
  }

  function call<T>(op: WriterOp, args: unknown[]): Promise<T> {
    if (closed) return Promise.reject(new StorageUnavailableError("the writer is closed"));
    if (down) return Promise.reject(down);
    return send<T>(worker, op, args);
  }

  return {
    async ingest(plans) {
      const out = await call<({ error: WireError } | { kind: string })[]>("ingest", [plans]);
      return out.map((r) => ("error" in r ? { error: fromWire(r.error) } : r)) as Awaited<ReturnType<Writer["ingest"]>>;
    },
    claim: (ids, now, leaseMs) => call("claim", [ids, now, leaseMs]),
    recordOutcomes: (outcomes, now, disableAfterMs) => call("recordOutcomes", [outcomes, now, disableAfterMs]),
    replayBatch: (id, now, opts) => call("replayBatch", [id, now, opts]),
    webhooksChanged() {
      // A new thread starts with an empty cache: nothing to tell one that is down.
      if (!closed && !down) worker.postMessage(encode({ id: 0, op: "webhooksChanged", args: [] }));
    },
    setQueryOnly: (on) => call("setQueryOnly", [on]),
    async ping() {
      try {
        return await call<boolean>("ping", []);
      } catch {
        return false;
      }
    },
    async close() {
      if (closed) return;
      // Answered after everything sent before it; calls made from now on fail at once.
      const last = down ? Promise.resolve() : send(worker, "close", []).catch(() => {});
      closed = true;
      await last;
      worker.terminate();
    },
  };
}

/**
 * From source the worker is the file beside this one. In the compiled binary every bundled
 * module has the entry's import.meta.url (/$bunfs/root/hookline) and the worker, a second entry
 * point of the build, is embedded under its path from src/.
 */
function workerUrl(): string {
  const beside = new URL("./worker.ts", import.meta.url);
  return existsSync(fileURLToPath(beside)) ? beside.href : new URL("./db/writer/worker.ts", import.meta.url).href;
}
