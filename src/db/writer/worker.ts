// The writer thread's entry point (a separate entry of `bun build --compile`, see package.json):
// one connection of its own for the hot-path writes, so their SQLite work and fsyncs run beside
// the main thread's HTTP, fan-out and sending instead of in its turns.
import type { Database } from "bun:sqlite";
import { createSecretBox } from "../../domain/secret-box.ts";
import { openDatabase } from "../open.ts";
import { type WriteOps, writeOps } from "./ops.ts";
import { encode, toWire, type WriterRequest, type WriterResponse, type WriterThreadOptions } from "./protocol.ts";

declare const self: Worker;

let sqlite: Database | undefined;
let ops: WriteOps | undefined;

function opened(): WriteOps {
  // A storage condition (503), not a bug: the open failed, and the thread will be replaced.
  if (ops === undefined) throw Object.assign(new Error("the writer's database is not open"), { code: "SQLITE_CANTOPEN" });
  return ops;
}

function run(req: WriterRequest): unknown {
  const a = req.args;
  switch (req.op) {
    case "init": {
      const o = a[0] as WriterThreadOptions;
      sqlite = openDatabase({ path: o.path, synchronous: o.synchronous, busyTimeoutMs: o.busyTimeoutMs });
      ops = writeOps(sqlite, createSecretBox(o.encryptionKey));
      return undefined;
    }
    case "ingest":
      // Per-item errors cross as data too.
      return opened()
        .ingest(a[0] as Parameters<WriteOps["ingest"]>[0])
        .map((r) => ("error" in r ? { error: toWire(r.error) } : r));
    case "claim":
      return opened().claim(a[0] as string[], a[1] as number, a[2] as number);
    case "recordOutcomes":
      return opened().recordOutcomes(a[0] as Parameters<WriteOps["recordOutcomes"]>[0], a[1] as number, a[2] as number);
    case "replayBatch":
      return opened().replayBatch(a[0] as string, a[1] as number, a[2] as Parameters<WriteOps["replayBatch"]>[2]);
    case "webhooksChanged":
      return opened().webhooksChanged();
    case "setQueryOnly":
      return opened().setQueryOnly(a[0] as boolean);
    case "ping":
      return ops?.ping() ?? false;
    case "close":
      sqlite?.close();
      sqlite = undefined;
      ops = undefined;
      return undefined;
  }
}

self.onmessage = (e: MessageEvent<string>) => {
  const req = JSON.parse(e.data) as WriterRequest;
  let res: WriterResponse;
  try {
    res = { id: req.id, ok: true, value: run(req) };
  } catch (err) {
    res = { id: req.id, ok: false, error: toWire(err) };
  }
  if (req.id !== 0) self.postMessage(encode(res));
};
