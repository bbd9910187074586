// The machine side of the test PostgreSQL: where the server binaries are, which user runs them,
// where the temp dir goes, and who removes it when the test process dies.
import { accessSync, constants, existsSync, readFileSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const POSTGRES_INSTALL_HINT = "apt-get install -y postgresql-15, or postgresql";

export interface PostgresBinaries {
  /** The folder holding initdb and postgres. */
  dir: string;
  initdb: string;
  postgres: string;
}

function inDir(dir: string): PostgresBinaries | undefined {
  const initdb = join(dir, "initdb");
  const postgres = join(dir, "postgres");
  return existsSync(initdb) && existsSync(postgres) ? { dir, initdb, postgres } : undefined;
}

/**
 * HOOKLINE_POSTGRES_BIN (a folder) if set, else the newest Debian /usr/lib/postgresql/<major>/bin,
 * else initdb on the PATH (Homebrew, other distributions).
 */
export function findPostgresBinaries(env: Record<string, string | undefined> = process.env): PostgresBinaries | undefined {
  const forced = env.HOOKLINE_POSTGRES_BIN;
  if (forced) return inDir(forced);
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const majors = readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const major of majors) {
      const found = inDir(join(debian, major, "bin"));
      if (found) return found;
    }
  }
  const onPath = Bun.which("initdb");
  return onPath === null ? undefined : inDir(dirname(onPath));
}

export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
}

function lookUp(name: string): SystemUser | undefined {
  let passwd = "";
  try {
    passwd = readFileSync("/etc/passwd", "utf8");
  } catch {
    return undefined;
  }
  for (const line of passwd.split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/**
 * The user the server runs as when this process is root (initdb and postgres refuse root):
 * `postgres` (the Debian packages create it), else `nobody`. Undefined when not root: the
 * server then runs as ourselves.
 */
export function unprivilegedUser(): SystemUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = lookUp("postgres") ?? lookUp("nobody");
  if (user === undefined) throw new Error("running as root and neither a postgres nor a nobody user exists to run PostgreSQL as");
  return user;
}

/**
 * The command prefix that runs a server binary: `setpriv` (util-linux) switches to that user by
 * exec, without forking, so the pid we spawn is the server's own; `pdeathsig` asks the kernel to
 * signal the server when this process dies (a test runner killed with -9 leaves no server).
 * Without setpriv (not Linux) the binary runs directly, which only works when not root.
 */
export function runAs(pdeathsig: string | undefined): string[] {
  const user = unprivilegedUser();
  const setpriv = Bun.which("setpriv");
  if (setpriv === null) {
    if (user !== undefined) throw new Error("running as root needs setpriv (util-linux) to start PostgreSQL as an unprivileged user");
    return [];
  }
  const as = user === undefined ? [] : [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups"];
  return [setpriv, ...as, ...(pdeathsig === undefined ? [] : [`--pdeathsig=${pdeathsig}`]), "--"];
}

/** The child's environment: no HOOKLINE_* or PG* variable of the developer's shell leaks in. */
export function childEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" };
  if (process.env.TZ) env.TZ = process.env.TZ;
  return env;
}

export async function runToEnd(cmd: string[], cwd: string): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn(cmd, { cwd, env: childEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: `${out}${err}` };
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ICU needs PostgreSQL 15; older servers (13, 14) get the C.UTF-8 libc locale, then plain C.
const LOCALES = [
  ["--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US"],
  ["--locale=C.UTF-8"],
  ["--locale=C"],
];

/**
 * A new data dir: superuser `postgres` with the password in `pwfile`, trust on the unix socket
 * (in the cluster's own dir, unreachable for other users), scram-sha-256 over TCP.
 */
export async function initdb(bins: PostgresBinaries, dataDir: string, pwfile: string): Promise<void> {
  let failure = "";
  for (const locale of LOCALES) {
    const result = await runToEnd(
      [
        ...runAs(undefined),
        bins.initdb,
        `--pgdata=${dataDir}`,
        "--username=postgres",
        `--pwfile=${pwfile}`,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--encoding=UTF8",
        ...locale,
        // Not syncing the new files to disk: a throwaway cluster does not survive an OS crash.
        "--no-sync",
      ],
      dirname(dataDir),
    );
    if (result.code === 0) return;
    failure = result.output;
    rmSync(dataDir, { recursive: true, force: true });
  }
  throw new Error(`initdb failed:\n${failure}`);
}

export const DIR_PREFIX = "hookline-pg-";
const TMPFS_MAGIC = 0x01021994;
const SHM = "/dev/shm";

/**
 * Where a cluster's temp dir goes. A throwaway cluster lives in RAM (/dev/shm, when it is a
 * tmpfs with 1 GiB free): on this box initdb takes ~0.4 s there against ~1.5 s on disk, and
 * CREATE DATABASE ~15 ms against 100–300 ms. A durable one (the bench) must be on disk, since
 * fsync on a tmpfs costs nothing and would flatter PostgreSQL against SQLite.
 */
export function clusterRoot(durable: boolean): string {
  if (durable) return tmpdir();
  try {
    const fs = statfsSync(SHM);
    accessSync(SHM, constants.W_OK);
    if (fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize >= 2 ** 30) return SHM;
  } catch {
    // No /dev/shm (not Linux) or not writable: the ordinary temp dir.
  }
  return tmpdir();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readPid(file: string): number {
  try {
    return Number.parseInt(readFileSync(file, "utf8").split("\n")[0] ?? "", 10) || 0;
  } catch {
    return 0;
  }
}

/** Removes temp dirs whose test process and server are both gone (the cleaner below missed them). */
export function sweepStale(root: string): void {
  for (const name of readdirSync(root)) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(root, name);
    const owner = readPid(join(dir, "owner"));
    const postmaster = readPid(join(dir, "data", "postmaster.pid"));
    if (owner === 0 || alive(owner) || (postmaster !== 0 && alive(postmaster))) continue;
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `bun test` exits without an "exit" event, so a cleaner outlives us: a shell blocked on a pipe
 * whose other end only this process holds. However this process ends, the pipe closes, the
 * server (signalled by pdeathsig) finishes its shutdown, and the cleaner removes the dir.
 */
export function startCleaner(dir: string): { end(): void } {
  const script =
    'cat >/dev/null; i=0; while [ -e "$1/data/postmaster.pid" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done; rm -rf "$1"';
  const cleaner = Bun.spawn(["/bin/sh", "-c", script, "hookline-pg-cleaner", dir], {
    env: childEnv(),
    stdin: "pipe",
    stdout: "ignore",
    stderr: "ignore",
  });
  cleaner.unref();
  return {
    end() {
      void cleaner.stdin.end();
    },
  };
}
