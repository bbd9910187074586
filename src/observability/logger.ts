import pino from "pino";
import type { LogFormat, LogLevel } from "../config/types.ts";
import { LineBatcher } from "./log-lines.ts";
import { quoteIfNeeded, quoteText, safeJson } from "./quote.ts";

export type Logger = pino.Logger;

/**
 * One pino JSON line as `time LEVEL message key=value …`. Values come from clients too (a request
 * id, a receiver's error): a string that is not a plain token is JSON-quoted and other values are
 * JSON, with control characters escaped, so no value can end the line or pose as another field.
 */
export function prettyLine(line: string): string {
  const { level: lv, time, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
  const name = pino.levels.labels[Number(lv)] ?? String(lv);
  const parts = [String(time), name.toUpperCase()];
  if (msg !== undefined && msg !== "") parts.push(quoteText(String(msg)));
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined) continue;
    parts.push(`${quoteIfNeeded(k)}=${typeof v === "string" ? quoteIfNeeded(v) : safeJson(v)}`);
  }
  return `${parts.join(" ")}\n`;
}

/**
 * JSON lines on stdout. "pretty" is a plain single-line text rendering done in-process: pino's
 * pretty transport runs in a worker thread, which a compiled single binary cannot rely on.
 */
export function createLogger(level: LogLevel | "silent", format: LogFormat = "json"): Logger {
  if (format === "pretty") {
    return pino(
      { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
      { write: (line: string) => process.stdout.write(prettyLine(line)) },
    );
  }
  const options = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  return level === "silent" ? pino(options) : pino(options, new LineBatcher());
}
