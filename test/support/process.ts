// Helpers for tests that run Hookline as a real child process (the CLI or the compiled binary).
import type { Subprocess } from "bun";

/** The environment without any HOOKLINE_* variable of the developer's shell. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HOOKLINE_")) env[k] = v;
  }
  return { ...env, ...extra };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(cmd: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<RunResult> {
  const p = Bun.spawn(cmd, { cwd: opts.cwd, env: cleanEnv(opts.env), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

/** Starts `hookline serve` and waits (bounded) for its "listening" log line to learn the URL. */
export async function startServe(
  cmd: string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<{ proc: Subprocess<"ignore", "pipe", "pipe">; url: string; output: () => string }> {
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    env: cleanEnv({ HOOKLINE_SERVER_PORT: "0", ...opts.env }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    const chunk = await Promise.race([
      reader.read(),
      Bun.sleep(Math.max(1, deadline - Date.now())).then(() => ({ done: true, value: undefined })),
    ]);
    if (chunk.value) out += decoder.decode(chunk.value);
    const m = /"url":"(http:\/\/[^"]+)"[^\n]*"hookline listening"/.exec(out);
    if (m?.[1]) {
      // Keep draining stdout so the child never blocks on a full pipe.
      void (async () => {
        for (;;) {
          const c = await reader.read();
          if (c.done) break;
          out += decoder.decode(c.value);
        }
      })();
      return { proc, url: m[1], output: () => out };
    }
    if (chunk.done) break;
  }
  proc.kill("SIGKILL");
  throw new Error(`hookline did not start:\n${out}\n${await new Response(proc.stderr).text()}`);
}

/**
 * The config of a test's real `hookline serve`: port 0, no rate limit, loopback receivers allowed
 * over http, a sweep every second, no jitter, info logs and one event type (order.created).
 * `databasePath` adds a [database] section (PostgreSQL tests pass the URL in the environment).
 */
export function realServerToml(o: {
  databasePath?: string;
  timeout: string;
  concurrency: number;
  perWebhookConcurrency: number;
  retrySchedule: string[];
}): string {
  const database = o.databasePath === undefined ? "" : `[database]\npath = "${o.databasePath}"\n`;
  return `[server]
port = 0
${database}[rate_limit]
per_minute = 0
[delivery]
timeout = "${o.timeout}"
concurrency = ${o.concurrency}
per_webhook_concurrency = ${o.perWebhookConcurrency}
retry_schedule = [${o.retrySchedule.map((d) => `"${d}"`).join(", ")}]
jitter = 0
sweep = "* * * * * *"
[security]
allow_http = true
allow_private_networks = true
[log]
level = "info"
[[event_types]]
name = "order.created"
`;
}
