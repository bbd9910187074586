// One `\r`-updated status line for long CLI operations. Only on a terminal: when the stream is
// a pipe or a file (scripts, CI, tests) nothing is written, so output stays line-oriented.

export interface ProgressLine {
  /** Whether lines are shown (the stream is a TTY). */
  readonly enabled: boolean;
  /** Replaces the current status line with `text`. */
  update(text: string): void;
  /** Ends the status line (a newline) if one was shown; safe to call more than once. */
  end(): void;
}

export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

export function progressLine(stream: ProgressStream = process.stderr): ProgressLine {
  const enabled = stream.isTTY === true;
  let shown = false;
  return {
    enabled,
    update(text) {
      if (!enabled) return;
      // Carriage return, the text, then clear what a longer previous line left behind.
      stream.write(`\r${text}\x1b[K`);
      shown = true;
    },
    end() {
      if (!shown) return;
      stream.write("\n");
      shown = false;
    },
  };
}

/** "12.3 MB" (decimal megabytes, one decimal), for sizes in status and summary lines. */
export function formatMB(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** "45% (12.1/26.8 MB)": `done` is clamped to `total` (estimates can be short). */
export function formatFraction(done: number, total: number): string {
  if (total <= 0) return formatMB(done);
  const pct = Math.min(99, Math.floor((done / total) * 100));
  return `${pct}% (${(Math.min(done, total) / 1_000_000).toFixed(1)}/${formatMB(total)})`;
}
