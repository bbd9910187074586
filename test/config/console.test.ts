// [console] (portal_title, accent_color, frame_ancestors) and server.public_url (API.md §12):
// what they accept, what they refuse and how the refusal names the key.
import { describe, expect, test } from "bun:test";
import { DEFAULTS } from "../../src/config/defaults.ts";
import { configProblems } from "../support/config-problems.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";

function loaded(toml: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "hookline-console-config-"));
  try {
    writeFileSync(join(dir, "hookline.toml"), toml);
    return loadConfig({ path: join(dir, "hookline.toml"), env });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("[console]", () => {
  test("defaults: a plain title, an indigo accent, no site may frame the portal", () => {
    expect(DEFAULTS.console).toEqual({ portal_title: "Webhooks", accent_color: "#4f46e5", frame_ancestors: [] });
  });

  test("accepted values, from the file and from HOOKLINE_CONSOLE_*", () => {
    const c = loaded('[console]\nportal_title = "Acme hooks"\naccent_color = "#F0a"\nframe_ancestors = ["https://app.example.com", "https://*.acme.io:8443", "http://[::1]:3000"]\n');
    expect(c.console).toEqual({
      portal_title: "Acme hooks",
      accent_color: "#F0a",
      frame_ancestors: ["https://app.example.com", "https://*.acme.io:8443", "http://[::1]:3000"],
    });
    const e = loaded("", { HOOKLINE_CONSOLE_ACCENT_COLOR: "#123456", HOOKLINE_CONSOLE_FRAME_ANCESTORS: "https://a.example.com,https://b.example.com" });
    expect(e.console.accent_color).toBe("#123456");
    expect(e.console.frame_ancestors).toEqual(["https://a.example.com", "https://b.example.com"]);
  });

  test.each([
    ['accent_color = "red"', /^console\.accent_color: "red" is not a hex colour/],
    ['accent_color = "#12345"', /^console\.accent_color: /],
    ['portal_title = ""', /^console\.portal_title: must not be empty/],
    [`portal_title = "${"x".repeat(101)}"`, /^console\.portal_title: must be 1 to 100 characters/],
    ['portal_title = "a\\u0007b"', /^console\.portal_title: must not contain control characters/],
    ['frame_ancestors = ["https://app.example.com/path"]', /^console\.frame_ancestors\[0\]: .*is not an origin/],
    ["frame_ancestors = [\"https://a.example.com; script-src *\"]", /^console\.frame_ancestors\[0\]: /],
    ['frame_ancestors = ["*"]', /^console\.frame_ancestors\[0\]: /],
    ['frame_ancestors = "https://app.example.com"', /^console\.frame_ancestors: must be a list/],
    ["colour = 1", /^console\.colour: unknown key/],
  ])("%s → refused", (line, problem) => {
    const problems = configProblems(`[console]\n${line}\n`);
    expect(problems.some((p) => problem.test(p)), problems.join("\n")).toBe(true);
  });
});

describe("server.public_url", () => {
  test("unset by default; an http(s) URL with an optional path is taken", () => {
    expect(DEFAULTS.server.public_url).toBeUndefined();
    expect(loaded('[server]\npublic_url = "https://hooks.example.com/hookline/"\n').server.public_url).toBe(
      "https://hooks.example.com/hookline/",
    );
  });

  test.each(["hooks.example.com", "ftp://hooks.example.com", "https://hooks.example.com/?a=1", "https://hooks.example.com/#x", "https://u:p@hooks.example.com"])(
    "%s → refused naming server.public_url",
    (value) => {
      const problems = configProblems(`[server]\npublic_url = "${value}"\n`);
      expect(problems.some((p) => p.startsWith("server.public_url: must be an absolute http or https URL")), problems.join("\n")).toBe(true);
    },
  );
});
