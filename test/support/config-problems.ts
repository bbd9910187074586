// What loadConfig refuses, as the list of problems its ConfigError carries. The config tests and
// the tests of settings that other layers own (JWT secrets, [[event_types]] descriptions and
// schemas) all ask the same question; one helper answers it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config/load.ts";

/**
 * The problems of this TOML file text (undefined: no file, the environment alone) with these
 * variables; [] when the config loads. The file is written to a folder of its own and removed.
 */
export function configProblems(toml: string | undefined, env: Record<string, string | undefined> = {}): string[] {
  const dir = toml === undefined ? undefined : mkdtempSync(join(tmpdir(), "hookline-config-"));
  try {
    const path = dir === undefined ? undefined : join(dir, "hookline.toml");
    if (path !== undefined) writeFileSync(path, toml as string);
    loadConfig({ path, env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}
