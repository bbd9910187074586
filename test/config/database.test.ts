// database.url and database.pool_size (API.md §11): PostgreSQL as the store is one key, from the
// file or HOOKLINE_DATABASE_URL; a bad URL names database.url and never repeats the password.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULTS } from "../../src/config/defaults.ts";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { configProblems } from "../support/config-problems.ts";

const dir = mkdtempSync(join(tmpdir(), "hookline-config-db-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function load(toml: string | undefined, env: Record<string, string | undefined> = {}): Config {
  files += 1;
  const path = toml === undefined ? undefined : join(dir, `config-${files}.toml`);
  if (path !== undefined) writeFileSync(path, toml as string);
  return loadConfig({ path, env });
}

const URL_A = "postgres://hookline:s3cret-a@db-a.internal:5432/hookline";
const URL_B = "postgresql://hookline:s3cret-b@db-b.internal/hookline?sslmode=require";

describe("database.url", () => {
  test("is unset by default: SQLite at database.path, a pool of 10 for when it is set", () => {
    const config = load(undefined);
    expect(config.database.url).toBeUndefined();
    expect(config.database.pool_size).toBe(10);
    expect(config.database).toEqual(DEFAULTS.database);
  });

  test("comes from the file, or HOOKLINE_DATABASE_URL, which wins", () => {
    const toml = `[database]\nurl = "${URL_A}"\npool_size = 25\n`;
    expect(load(toml).database).toMatchObject({ url: URL_A, pool_size: 25, path: "./data/hookline.db" });
    const fromEnv = load(toml, { HOOKLINE_DATABASE_URL: URL_B, HOOKLINE_DATABASE_POOL_SIZE: "40" });
    expect(fromEnv.database).toMatchObject({ url: URL_B, pool_size: 40 });
    // An empty variable is "unset", as everywhere else.
    expect(load(toml, { HOOKLINE_DATABASE_URL: "" }).database.url).toBe(URL_A);
    expect(load(undefined, { HOOKLINE_DATABASE_URL: URL_A }).database.url).toBe(URL_A);
  });

  test.each([
    ["not a url", "is not a valid URL"],
    ["mysql://root:s3cret-a@db/hookline", 'must start with postgres:// or postgresql:// (not "mysql://")'],
    ["hookline:s3cret-a@db/hookline", "must start with postgres:// or postgresql://"],
    ["postgres://hookline:s3cret-a@db:70000/hookline", "is not a valid URL"],
    ["postgres:///hookline?password=s3cret-a", "needs a host"],
    ["postgres://hookline:s3cret-a@db/a/b", "has more than one path segment"],
  ])("%p is refused naming database.url and its line, without the password", (url, message) => {
    const problems = configProblems(`[database]\npath = "x.db"\nurl = "${url}"\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toStartWith(`database.url: ${message}`);
    expect(problems[0]).toEndWith("(line 3)");
    expect(problems[0]).not.toContain("s3cret-a");
  });

  test("from the environment it names the variable, without the password", () => {
    const problems = configProblems(undefined, { HOOKLINE_DATABASE_URL: "postgres//hookline:s3cret-a@db/hookline" });
    expect(problems).toEqual([
      expect.stringMatching(/^database\.url \(from environment variable HOOKLINE_DATABASE_URL\): is not a valid URL/),
    ]);
    expect(problems[0]).not.toContain("s3cret-a");
  });

  test("a value that is not a string, or empty, is refused like any string key", () => {
    expect(configProblems(`[database]\nurl = 5432\n`)).toEqual(["database.url: must be a string (line 2)"]);
    expect(configProblems(`[database]\nurl = ""\n`)).toEqual(["database.url: must not be empty (line 2)"]);
  });

  test("a TOML syntax error on its line does not show the password either", () => {
    const problems = configProblems(`[database]\nurl = "postgres://hookline:s3cret-a@db/hookline\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("invalid TOML");
    expect(problems[0]).not.toContain("s3cret-a");
  });

  test("a bad url is a ConfigError (the CLI's exit 2)", () => {
    expect(() => load(undefined, { HOOKLINE_DATABASE_URL: "nope" })).toThrow(ConfigError);
  });
});

describe("database.pool_size", () => {
  test.each([1, 10, 1000])("%p is accepted", (size) => {
    expect(load(`[database]\npool_size = ${size}\n`).database.pool_size).toBe(size);
  });

  test.each(["0", "1001", "-1", "2.5", '"ten"'])("%s is refused with the range", (size) => {
    expect(configProblems(`[database]\npool_size = ${size}\n`)).toEqual([
      "database.pool_size: must be an integer from 1 to 1000 connections per replica (line 2)",
    ]);
  });

  test("HOOKLINE_DATABASE_POOL_SIZE is converted and checked like the file", () => {
    expect(load(undefined, { HOOKLINE_DATABASE_POOL_SIZE: " 50 " }).database.pool_size).toBe(50);
    expect(configProblems(undefined, { HOOKLINE_DATABASE_POOL_SIZE: "many" })).toEqual([
      "database.pool_size (from environment variable HOOKLINE_DATABASE_POOL_SIZE): must be an integer from 1 to 1000 connections per replica",
    ]);
  });
});
