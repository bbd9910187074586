import pino from "pino";
import type { LogFormat, LogLevel } from "../config/types.ts";
import { LineBatcher } from "./log-lines.ts";

export type Logger = pino.Logger;

/**
 * JSON lines on stdout. "pretty" is a plain single-line text rendering done in-process: pino's
 * pretty transport runs in a worker thread, which a compiled single binary cannot rely on.
 */
export function createLogger(level: LogLevel | "silent", format: LogFormat = "json"): Logger {
  if (format === "pretty") {
    return pino(
      { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
      {
        write(line: string) {
          const { level: lv, time, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
          const name = pino.levels.labels[Number(lv)] ?? String(lv);
          const extra = Object.entries(rest)
            .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
            .join(" ");
          process.stdout.write(`${time} ${name.toUpperCase()} ${msg ?? ""} ${extra}\n`);
        },
      },
    );
  }
  const options = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  return level === "silent" ? pino(options) : pino(options, new LineBatcher());
}
