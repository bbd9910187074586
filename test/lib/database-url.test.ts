import { describe, expect, test } from "bun:test";
import { databaseUrlProblem, redactDatabaseUrl } from "../../src/lib/database-url.ts";

describe("redactDatabaseUrl", () => {
  test.each([
    ["postgres://hookline:s3cret@db:5432/hookline", "postgres://hookline:***@db:5432/hookline"],
    ["postgresql://hookline:s3cret@db/hookline", "postgresql://hookline:***@db/hookline"],
    // A password with ":" or "@" in it (the last "@" ends the userinfo, as in URL parsing).
    ["postgres://u:pa:ss@db/x", "postgres://u:***@db/x"],
    ["postgres://u:p@ss@db/x", "postgres://u:***@db/x"],
    ["postgres://u:p%40ss%2F@db/x", "postgres://u:***@db/x"],
    ["postgres://:s3cret@db/x", "postgres://:***@db/x"],
    ["postgres://u:@db/x", "postgres://u:***@db/x"],
    ["postgres://u:s3cret@[::1]:5432/x?sslmode=require", "postgres://u:***@[::1]:5432/x?sslmode=require"],
    // libpq also takes the password as a query parameter.
    ["postgres://u@db/x?password=s3cret&sslmode=require", "postgres://u@db/x?password=***&sslmode=require"],
    ["postgres://db/x?sslmode=verify-full&sslpassword=s3cret", "postgres://db/x?sslmode=verify-full&sslpassword=***"],
    ["postgres://u:s3cret@db/x?PASSWORD=again#frag", "postgres://u:***@db/x?PASSWORD=***#frag"],
    // Nothing secret: unchanged, in the user's own spelling.
    ["postgres://hookline@db:5432/hookline", "postgres://hookline@db:5432/hookline"],
    ["postgres://db.internal/hookline", "postgres://db.internal/hookline"],
    ["postgres://DB.Internal:5432", "postgres://DB.Internal:5432"],
    ["", ""],
    // Malformed (a refused config value may still reach a message): masked all the same.
    ["postgres://u:s3cret@db:99999/x", "postgres://u:***@db:99999/x"],
    ["postgres://u:sec ret@db/x", "postgres://u:***@db/x"],
    ["postgres://u:a/b@db/x", "postgres://u:***@db/x"],
    ["mysql://root:s3cret@db/x", "mysql://root:***@db/x"],
    // An "@" after the host masks too much, never too little.
    ["postgres://db:5432/x?application_name=a@b", "postgres://db:***@b"],
  ])("%s → %s", (url, shown) => {
    expect(redactDatabaseUrl(url)).toBe(shown);
    if (url.includes("s3cret")) expect(redactDatabaseUrl(url)).not.toContain("s3cret");
  });

  test("is idempotent", () => {
    const once = redactDatabaseUrl("postgres://u:s3cret@db/x?password=s3cret");
    expect(redactDatabaseUrl(once)).toBe(once);
  });
});

describe("databaseUrlProblem", () => {
  test.each([
    "postgres://hookline:s3cret@db:5432/hookline",
    "postgresql://hookline:s3cret@db.internal/hookline",
    "postgres://hookline@127.0.0.1:5432/hookline?sslmode=require",
    "postgres://u:s3cret@[::1]:5432/x",
    "postgres://u:p%40ss@db/x",
    // No database: libpq's default (the user's name) applies.
    "postgres://hookline:s3cret@db",
    "postgres://hookline:s3cret@db/",
  ])("accepts %s", (url) => {
    expect(databaseUrlProblem(url)).toBeUndefined();
  });

  test.each([
    ["not a url s3cret", "is not a valid URL"],
    ["postgres://u:s3cret@db:99999/x", "is not a valid URL"],
    ["db.internal:5432/hookline?password=s3cret", "must start with postgres:// or postgresql://, as in postgres"],
    // Without "//" the part before ":" may be the user name: not quoted.
    ["hookline:s3cret@db/hookline", "must start with postgres:// or postgresql://, as in postgres"],
    ["mysql://root:s3cret@db/x", 'must start with postgres:// or postgresql:// (not "mysql://"), as in'],
    ["https://u:s3cret@db/x", 'must start with postgres:// or postgresql:// (not "https://"), as in'],
    ["postgres:///hookline?password=s3cret", "needs a host"],
    ["postgres://u:s3cret@db/a/b", "has more than one path segment"],
  ])("refuses %s: %s", (url, start) => {
    const problem = databaseUrlProblem(url);
    expect(problem).toStartWith(start);
    // The value is never echoed: it may hold the password.
    expect(problem).not.toContain("s3cret");
  });
});
