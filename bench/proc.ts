// Child processes of the bench: start one, wait (bounded) for a line announcing its URL, then
// keep draining its output so it never blocks on a full pipe, and read /proc figures about it.
import { readdirSync } from "node:fs";
import type { Subprocess } from "bun";

export type Child = Subprocess<"pipe", "pipe", "pipe">;

/** The environment without any HOOKLINE_* variable of the developer's shell. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HOOKLINE_")) env[k] = v;
  }
  return { ...env, ...extra };
}

export interface Started {
  proc: Child;
  match: RegExpExecArray;
  /** The last few KiB of stdout and stderr, for error messages. */
  tail: () => string;
}

const TAIL_CHARS = 8_192;

/** Every child still running, so an interrupted bench can end them (by pid, its own only). */
const children = new Set<Child>();

export function killChildren(): void {
  for (const p of children) p.kill("SIGKILL");
  children.clear();
}

/** Reads a stream line by line until it ends; only a short tail of it is kept. */
async function drain(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  keep: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let carry = "";
  for await (const chunk of stream) {
    const text = carry + decoder.decode(chunk, { stream: true });
    keep(text);
    const lines = text.split("\n");
    carry = lines.pop() ?? "";
    if (carry.length > 65_536) carry = carry.slice(-65_536);
    for (const line of lines) onLine(line);
  }
  if (carry) onLine(carry);
}

/** Spawns `cmd` and resolves once a stdout line matches `ready` (or rejects after `timeoutMs`). */
export async function spawnUntil(
  cmd: string[],
  opts: {
    cwd: string;
    env: Record<string, string>;
    ready: RegExp;
    timeoutMs: number;
    /** Every stdout line after the ready one. */
    onLine?: (line: string) => void;
  },
): Promise<Started> {
  const proc: Child = Bun.spawn(cmd, { cwd: opts.cwd, env: opts.env, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
  let tail = "";
  const keep = (text: string) => {
    tail = (tail + text).slice(-TAIL_CHARS);
  };
  let resolveReady: (m: RegExpExecArray) => void = () => {};
  const ready = new Promise<RegExpExecArray>((r) => {
    resolveReady = r;
  });
  let found = false;
  const onLine = (line: string) => {
    if (found) {
      opts.onLine?.(line);
      return;
    }
    const m = opts.ready.exec(line);
    if (m) {
      found = true;
      resolveReady(m);
    }
  };
  void drain(proc.stdout, onLine, keep).catch(() => {});
  void drain(proc.stderr, () => {}, keep).catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    ready,
    proc.exited.then((code) => `exited with code ${code}`),
    new Promise<string>((r) => {
      timer = setTimeout(() => r(`no ready line within ${opts.timeoutMs} ms`), opts.timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (typeof outcome === "string") {
    proc.kill("SIGKILL");
    throw new Error(`${cmd.join(" ")}: ${outcome}\n${tail}`);
  }
  return { proc, match: outcome, tail: () => tail };
}

/**
 * `p`, or `fallback` after `ms`, whichever comes first. The timer is cleared either way (a
 * bare Bun.sleep in a race would keep the bench alive until it fires).
 */
export async function within<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<F>((r) => (timer = setTimeout(() => r(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function stopChild(proc: Child, graceMs = 5_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const exited = await within(proc.exited.then(() => true), graceMs, false);
  if (!exited) {
    proc.kill("SIGKILL");
    await within(proc.exited, 2_000, undefined);
  }
}

let clockTicks: number | undefined;

/** `getconf CLK_TCK`, usually 100. */
export function clkTck(): number {
  if (clockTicks === undefined) {
    const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim();
    const n = Number(out);
    clockTicks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

/** utime + stime of a live process in seconds (from /proc/<pid>/stat), NaN if unreadable. */
export async function cpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await Bun.file(`/proc/${pid}/stat`).text();
    // The command name in parentheses may contain spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of stat(5) are the 12th and 13th after the name and state.
    return (Number(fields[11]) + Number(fields[12])) / clkTck();
  } catch {
    return Number.NaN;
  }
}

/** A `kB` field of /proc/<pid>/status (VmHWM, VmRSS) in MiB, NaN if unreadable. */
export async function statusMb(pid: number, field: "VmHWM" | "VmRSS"): Promise<number> {
  try {
    const status = await Bun.file(`/proc/${pid}/status`).text();
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds of a process and its live children (PostgreSQL's postmaster and its backends),
 * plus what its exited children used (cutime + cstime); NaN if the process is unreadable.
 */
export async function treeCpuSeconds(pid: number): Promise<number> {
  const fieldsOf = async (p: number | string): Promise<string[] | undefined> => {
    try {
      const stat = await Bun.file(`/proc/${p}/stat`).text();
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    } catch {
      return undefined;
    }
  };
  const own = await fieldsOf(pid);
  if (own === undefined) return Number.NaN;
  // After the name: state, ppid (index 1) … utime, stime, cutime, cstime (indexes 11–14).
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  const entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  for (const e of entries.slice(0, 100_000)) {
    const f = await fieldsOf(e);
    if (f !== undefined && Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / clkTck();
}
