import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { StorageUnavailableError } from "../../domain/errors.ts";
import type { Writer } from "./ops.ts";
import { encode, fromWire, type WireError, type WriterOp, type WriterResponse, type WriterThreadOptions } from "./protocol.ts";

/**
 * The hot-path writes on a thread of their own (writer/worker.ts) with its own connection. The
 * main thread keeps its connection for reads and the rare management writes (WAL lets it read
 * while the writer writes; a management write waits for the write lock, busy_timeout).
 *
 * Requests are answered in the order they were sent, each after its transaction committed, so
 * a 202 still means "on disk". If the thread dies, every call fails as storage unavailable.
 */
export function startWriterThread(opts: WriterThreadOptions): Writer {
  const worker = new Worker(workerUrl());
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  let nextId = 1;
  let dead: Error | undefined;
  // Referenced only while an answer is awaited: an idle writer does not keep the process alive.
  worker.unref();

  function fail(why: string): void {
    dead ??= new StorageUnavailableError(why);
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
    worker.unref();
  }

  worker.onmessage = (e: MessageEvent<string>) => {
    const res = JSON.parse(e.data) as WriterResponse;
    const p = pending.get(res.id);
    if (p === undefined) return;
    pending.delete(res.id);
    if (pending.size === 0) worker.unref();
    if (res.ok) p.resolve(res.value);
    else p.reject(fromWire(res.error));
  };
  worker.onerror = (e: ErrorEvent) => fail(`writer thread failed: ${e.message}`);
  worker.addEventListener("close", () => fail("writer thread stopped"));

  function call<T>(op: WriterOp, args: unknown[]): Promise<T> {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      if (pending.size === 0) worker.ref();
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage(encode({ id, op, args }));
    });
  }

  // Queued before any other request: the worker handles messages in order.
  call<void>("init", [opts]).catch((err: unknown) => fail(`writer could not open the database: ${String(err)}`));

  return {
    async ingest(plans) {
      const out = await call<({ error: WireError } | { kind: string })[]>("ingest", [plans]);
      return out.map((r) => ("error" in r ? { error: fromWire(r.error) } : r)) as Awaited<ReturnType<Writer["ingest"]>>;
    },
    claim: (ids, now, leaseMs) => call("claim", [ids, now, leaseMs]),
    recordOutcomes: (outcomes, now, disableAfterMs) => call("recordOutcomes", [outcomes, now, disableAfterMs]),
    webhooksChanged() {
      if (!dead) worker.postMessage(encode({ id: 0, op: "webhooksChanged", args: [] }));
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
      if (!dead) {
        try {
          await call("close", []);
        } catch {
          // Closing anyway.
        }
      }
      dead ??= new StorageUnavailableError("the writer is closed");
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
