// /console and /portal as the server answers them: the same page for every deep link, a strict CSP
// on the pages and their assets (the portal framed only by [console] frame_ancestors, the console
// never), nothing from another origin, and both bundles within one gzip budget. (The console's API
// types are the one generated file; test/api/openapi-contract.test.ts checks them against the code.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Harness, harness } from "../support/harness.ts";

const BUDGET_GZIP_BYTES = 250 * 1024;

let h: Harness;
let framed: Harness;
beforeAll(async () => {
  h = await harness();
  framed = await harness({ console: { frame_ancestors: ["https://app.example.com", "http://127.0.0.1:8443"] } });
});
afterAll(async () => {
  await h?.close();
  await framed?.close();
});

type Served = { path: string; body: Uint8Array<ArrayBuffer>; res: Response };

/** A page and every asset it loads: what it references (scripts, styles, icon), and the chunks its scripts import. */
async function servedFiles(pagePath = "/console"): Promise<Served[]> {
  const page = await fetch(`${h.url}${pagePath}`);
  const html = await page.text();
  const queue = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
  const files: Served[] = [{ path: pagePath, body: new TextEncoder().encode(html), res: page }];
  for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
    if (files.some((f) => f.path === path)) continue;
    const res = await fetch(`${h.url}${path}`);
    const body = new Uint8Array(await res.arrayBuffer());
    files.push({ path, body, res });
    if (path.endsWith(".js")) {
      for (const m of new TextDecoder().decode(body).matchAll(/["']\.\/(chunk-[a-z0-9]+\.js)["']/g)) queue.push(`/console-assets/${m[1]}`);
    }
  }
  return files;
}

function directivesOf(res: Response): Map<string, string> {
  const csp = res.headers.get("content-security-policy") ?? "";
  return new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name as string, values.join(" ")]));
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

  test(`what /console and /portal serve is at most ${BUDGET_GZIP_BYTES / 1024} KB gzipped in all`, async () => {
    const consoleFiles = await servedFiles("/console");
    const portalFiles = await servedFiles("/portal");
    // Both pages load the shared chunk; each file counts once.
    const files = [...new Map([...consoleFiles, ...portalFiles].map((f) => [f.path, f])).values()];
    const gz = (fs: Served[]) => fs.reduce((n, f) => n + Bun.gzipSync(f.body).length, 0);
    const gzipped = gz(files);
    console.log(`console + portal bundle: ${files.length} files, ${files.reduce((n, f) => n + f.body.length, 0)} bytes, ${gzipped} bytes gzipped (console page ${gz(consoleFiles)}, portal page ${gz(portalFiles)})`);
    expect(consoleFiles.some((f) => /^\/console-assets\/chunk-/.test(f.path))).toBe(true);
    expect(portalFiles.some((f) => /^\/console-assets\/chunk-/.test(f.path))).toBe(true);
    // A customer's portal loads none of the console's pages.
    expect(gz(portalFiles)).toBeLessThan(gz(consoleFiles));
    expect(files.length).toBeGreaterThanOrEqual(6);
    expect(gzipped).toBeGreaterThan(10_000);
    expect(gzipped).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
  });

  test("the console's routes are not in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${h.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith("/console") || p.startsWith("/portal"))).toEqual([]);
  });

  test("the console is never framed, even where the portal may be", async () => {
    const res = await fetch(`${framed.url}/console/webhooks`);
    expect(directivesOf(res).get("frame-ancestors")).toBe("'none'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });
});

describe("GET /portal", () => {
  test("every deep link answers the portal's page (not the console's), with the strict CSP and frame-ancestors 'none' by default", async () => {
    const first = await fetch(`${h.url}/portal`);
    const body = await first.text();
    expect(first.status).toBe(200);
    expect(body).not.toBe(await (await fetch(`${h.url}/console`)).text());
    expect(body).toMatch(/src="\/console-assets\/portal-[a-z0-9]+\.js"/);
    for (const path of ["/portal/", "/portal/webhooks/wh_01ABC", "/portal/deliveries/dlv_01ABC"]) {
      const res = await fetch(`${h.url}${path}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(body);
    }
    const d = directivesOf(first);
    for (const name of ["default-src", "script-src", "style-src", "connect-src"]) expect(d.get(name)).toBe("'self'");
    expect(d.get("frame-ancestors")).toBe("'none'");
    expect(first.headers.get("x-frame-options")).toBe("DENY");
    expect(first.headers.get("content-security-policy")).not.toContain("unsafe");
    expect(body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(body).not.toMatch(/<style|\sstyle=/);
    expect(body).not.toMatch(/https?:\/\//);
    expect(first.headers.get("referrer-policy")).toBe("no-referrer");
  });

  test("with [console] frame_ancestors, the portal names exactly those origins and drops X-Frame-Options", async () => {
    const res = await fetch(`${framed.url}/portal/webhooks/wh_1`);
    const d = directivesOf(res);
    expect(d.get("frame-ancestors")).toBe("https://app.example.com http://127.0.0.1:8443");
    expect(d.get("script-src")).toBe("'self'");
    expect(res.headers.get("x-frame-options")).toBeNull();
  });
});
