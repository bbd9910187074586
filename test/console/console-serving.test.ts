// /console as the server answers it: the same page for every deep link, a strict CSP on the page
// and its assets, nothing from another origin, the whole bundle within its gzip budget, and the
// console's API types the same as the ones the contract test checks against the code.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Harness, harness } from "../support/harness.ts";

const BUDGET_GZIP_BYTES = 250 * 1024;
const root = join(import.meta.dir, "..", "..");

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h?.close();
});

/** The page and every asset it references (scripts, styles, icon). */
async function servedFiles(): Promise<{ path: string; body: Uint8Array<ArrayBuffer>; res: Response }[]> {
  const page = await fetch(`${h.url}/console`);
  const html = await page.text();
  const paths = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
  const files: { path: string; body: Uint8Array<ArrayBuffer>; res: Response }[] = [{ path: "/console", body: new TextEncoder().encode(html), res: page }];
  for (const path of paths) {
    const res = await fetch(`${h.url}${path}`);
    files.push({ path, body: new Uint8Array(await res.arrayBuffer()), res });
  }
  return files;
}

describe("GET /console", () => {
  test("every deep link answers the same page, with the strict CSP", async () => {
    const first = await fetch(`${h.url}/console`);
    const body = await first.text();
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("text/html; charset=utf-8");
    for (const path of ["/console/", "/console/webhooks", "/console/deliveries/dlv_01ABC", "/console/events/evt_1?tenant=acme"]) {
      const res = await fetch(`${h.url}${path}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(body);
    }
    const csp = first.headers.get("content-security-policy") ?? "";
    const directives = new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values.join(" ")]));
    expect(directives.get("default-src")).toBe("'self'");
    expect(directives.get("script-src")).toBe("'self'");
    expect(directives.get("style-src")).toBe("'self'");
    expect(directives.get("frame-ancestors")).toBe("'none'");
    expect(directives.get("base-uri")).toBe("'none'");
    expect(directives.get("object-src")).toBe("'none'");
    expect(csp).not.toContain("unsafe");
    expect(first.headers.get("cache-control")).toBe("no-cache");
    expect(first.headers.get("x-content-type-options")).toBe("nosniff");
  });

  test("the page has no inline script or style and names no other origin", async () => {
    const html = await (await fetch(`${h.url}/console`)).text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=/);
    expect(html).not.toMatch(/https?:\/\//);
    for (const file of await servedFiles()) {
      expect(file.res.status).toBe(200);
      expect(file.res.headers.get("content-security-policy")).toContain("default-src 'self'");
    }
  });

  test("hashed assets are cached for good; an unknown one is a 404", async () => {
    const files = await servedFiles();
    const script = files.find((f) => f.path.endsWith(".js"));
    expect(script?.path).toMatch(/^\/console-assets\/main-[a-z0-9]+\.js$/);
    expect(script?.res.headers.get("content-type")).toContain("javascript");
    expect(script?.res.headers.get("cache-control")).toContain("immutable");
    expect(files.some((f) => f.path.endsWith(".css"))).toBe(true);
    expect((await fetch(`${h.url}/console-assets/nope.js`)).status).toBe(404);
  });

  test(`what /console serves is at most ${BUDGET_GZIP_BYTES / 1024} KB gzipped in all`, async () => {
    const files = await servedFiles();
    const gzipped = files.reduce((n, f) => n + Bun.gzipSync(f.body).length, 0);
    console.log(`console bundle: ${files.length} files, ${files.reduce((n, f) => n + f.body.length, 0)} bytes, ${gzipped} bytes gzipped`);
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(gzipped).toBeGreaterThan(10_000);
    expect(gzipped).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
  });

  test("the console's routes are not in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${h.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith("/console"))).toEqual([]);
  });
});

test("console/src/api/schema.d.ts is the committed client types (npm run openapi writes both)", () => {
  // test/api/openapi-contract.test.ts checks test/client/schema.d.ts against the served document.
  const committed = readFileSync(join(root, "test/client/schema.d.ts"), "utf8");
  expect(readFileSync(join(root, "console/src/api/schema.d.ts"), "utf8")).toBe(committed);
});
