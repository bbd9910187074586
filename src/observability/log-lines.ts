import pino from "pino";

// Lines buffered at most, in characters, before they are written anyway (a long turn).
const MAX_BUFFERED = 64 * 1024;
// pino's levels: warn and above are written at once.
const WARN = 40;
// Set on a stream, pino records each line's level in `lastLevel` before writing it.
const NEEDS_METADATA = Symbol.for("pino.metadata");

const live = new Set<LineBatcher>();
let exitHooked = false;

/**
 * pino's destination for the JSON lines: the lines of one event-loop turn go out in one write
 * instead of one write each. Under load the access log was a write(2) per request, ~5 % of the
 * main thread's time. What is lost if the process dies by kill -9 is that turn's info lines at
 * most; warn and above flush everything at once, and so does the process's exit.
 */
export class LineBatcher {
  lastLevel = 0;
  private parts: string[] = [];
  private chars = 0;
  private scheduled = false;

  constructor(private readonly out: { write(s: string): unknown } = pino.destination({ dest: 1, sync: true })) {
    (this as unknown as Record<symbol, boolean>)[NEEDS_METADATA] = true;
    live.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.once("exit", () => {
        for (const b of live) b.flush();
      });
    }
  }

  write(line: string): void {
    this.parts.push(line);
    this.chars += line.length;
    if (this.lastLevel >= WARN || this.chars >= MAX_BUFFERED) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushLater);
    }
  }

  /** Writes what is buffered, now (pino's logger.flush(cb) calls it with a callback). */
  flush(cb?: (err?: Error) => void): void {
    if (this.parts.length === 0) {
      cb?.();
      return;
    }
    const text = this.parts.length === 1 ? (this.parts[0] as string) : this.parts.join("");
    this.parts = [];
    this.chars = 0;
    try {
      this.out.write(text);
    } catch (err) {
      // A stdout that fails (a full disk under a redirect) loses these lines; it must not fail
      // the request, attempt or shutdown that logged them, nor crash the server from a timer.
      cb?.(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    cb?.();
  }

  private readonly flushLater = (): void => {
    this.scheduled = false;
    this.flush();
  };
}
