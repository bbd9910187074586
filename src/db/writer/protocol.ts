// Messages between the store (main thread) and the writer thread: plain data, sent as JSON
// text. A string crosses the thread boundary as one copy; the structured clone of the same
// objects (a batch of events with their payloads) cost ~15 % of the main thread in `e2e`.
import type { Synchronous } from "../../config/types.ts";

export interface WriterThreadOptions {
  path: string;
  synchronous: Synchronous;
  busyTimeoutMs: number;
  /** security.encryption_key: the writer decrypts secrets of the deliveries it claims. */
  encryptionKey: string | undefined;
}

export type WriterOp = "init" | "ingest" | "claim" | "recordOutcomes" | "replayBatch" | "webhooksChanged" | "setQueryOnly" | "ping" | "close";

export interface WriterRequest {
  /** 0: no answer wanted. */
  id: number;
  op: WriterOp;
  args: unknown[];
}

/** An error as it crosses the thread boundary: what translateStorageErrors needs (code). */
export interface WireError {
  name: string;
  message: string;
  code?: string;
}

export type WriterResponse = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

export function toWire(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === "string" ? { code } : {}) };
  }
  return { name: "Error", message: String(err) };
}

export function fromWire(w: WireError): Error {
  const err = new Error(w.message);
  err.name = w.name;
  if (w.code !== undefined) (err as Error & { code?: string }).code = w.code;
  return err;
}

export function encode(message: WriterRequest | WriterResponse): string {
  return JSON.stringify(message);
}
