// Entry point of src/config: resolve the file, then defaults → file → HOOKLINE_* env →
// validate → freeze. Nothing else in Hookline reads the TOML file or process.env.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { TomlError, parse } from "smol-toml";
import { readEnv } from "./env";
import { findKeyLines } from "./lines";
import type { Config } from "./types";
import { validate } from "./validate";

/** A refused configuration. The CLI prints `problems` one per line and exits with code 2. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

const DEFAULT_FILE = "hookline.toml";

/**
 * `--config` wins, then HOOKLINE_CONFIG, then ./hookline.toml when present; undefined means the
 * built-in defaults. A path the user named but that does not exist is refused rather than
 * silently replaced by defaults.
 */
export function resolveConfigPath(
  explicit: string | undefined,
  env: Record<string, string | undefined>,
  cwd: string,
): string | undefined {
  const named: Array<[string, string | undefined]> = [
    ["--config", explicit],
    ["HOOKLINE_CONFIG", env.HOOKLINE_CONFIG],
  ];
  for (const [source, path] of named) {
    if (path === undefined || path === "") continue;
    const absolute = resolve(cwd, path);
    if (!existsSync(absolute))
      throw new ConfigError([`${source}: config file ${path} does not exist`]);
    return absolute;
  }
  const fallback = join(cwd, DEFAULT_FILE);
  return existsSync(fallback) ? fallback : undefined;
}

function readToml(path: string): { file: Record<string, unknown>; lines: Map<string, number> } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError([`${path}: cannot read the config file: ${reason}`]);
  }
  try {
    return { file: parse(text), lines: findKeyLines(text) };
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    // smol-toml's message continues with a code excerpt; the first line plus the position is
    // what fits in a one-line problem.
    const reason = (error.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
    throw new ConfigError([
      `${path}: invalid TOML: ${reason} (line ${error.line}, column ${error.column})`,
    ]);
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Reads `path` (if any) at run time, applies `env`, and returns a deep-frozen Config. */
export function loadConfig(opts: {
  path?: string | undefined;
  env: Record<string, string | undefined>;
}): Config {
  const { file, lines } =
    opts.path === undefined ? { file: {}, lines: new Map<string, number>() } : readToml(opts.path);
  const overrides = readEnv(opts.env);
  const result = validate({ file, lines, env: overrides.values });
  const problems = [...(result.ok ? [] : result.problems), ...overrides.problems];
  if (!result.ok || problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(result.config);
}
