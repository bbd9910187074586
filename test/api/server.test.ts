// The real server on a loopback port: what a browser, curl or a load balancer sees.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathOf } from "../../src/api/app.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { expectError } from "../support/expect-error.ts";
import { publicResolver, ROOT_KEY, testConfig } from "../support/harness.ts";

let server: RunningServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hookline-server-"));
  const config = testConfig(
    { server: { port: 0, host: "127.0.0.1", max_body_bytes: 4096 } },
    join(dir, "db", "hookline.db"),
  );
  server = await startServer(config, { logger: createLogger("silent"), resolver: publicResolver });
});

afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${ROOT_KEY}` };

describe("operations endpoints", () => {
  test("/healthz and /readyz answer 200", async () => {
    const h = await fetch(`${server.url}/healthz`);
    expect(h.status).toBe(200);
    expect(((await h.json()) as { status: string }).status).toBe("ok");
    const r = await fetch(`${server.url}/readyz`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { checks: Record<string, boolean> }).checks.database).toBe(true);
  });

  for (const path of ["/docs", "/docs/"]) {
    test(`${path} serves Swagger UI from embedded assets only`, async () => {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(200);
      const html = await res.text();
      // No inline script (the page works under a strict CSP): every <script> loads a file.
      expect([...html.matchAll(/<script([^>]*)>/g)].every((m) => /\ssrc="/.test(m[1] as string))).toBe(true);
      const init = await (await fetch(`${server.url}/docs-assets/swagger-init.js`)).text();
      expect(init).toContain("SwaggerUIBundle");
      // Nothing loaded from another host: every src/href is a local absolute path.
      expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
      expect(html).not.toMatch(/https?:\/\//);
      // The favicon is an empty data: URL (no request at all); every other reference is local.
      const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string).filter((r) => r !== "data:,");
      expect(refs.length).toBeGreaterThanOrEqual(2);
      for (const ref of refs) {
        const asset = await fetch(new URL(ref, `${server.url}${path}`));
        expect(asset.status).toBe(200);
        expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(100);
      }
      // The spec URL is absolute, so both /docs and /docs/ find it.
      expect(init).toContain('url: "/openapi.json"');
    });
  }

  test("/openapi.json documents every /v1 route with its schemas and security", async () => {
    const res = await fetch(`${server.url}/openapi.json`);
    expect(res.status).toBe(200);
    const spec = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown[]; responses?: Record<string, unknown>; requestBody?: unknown }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(spec.openapi).toStartWith("3.");
    expect(Object.keys(spec.components.securitySchemes).sort()).toEqual(["apiKeyHeader", "bearerAuth"]);
    const expected = [
      "post /v1/keys",
      "get /v1/keys",
      "delete /v1/keys/{id}",
      "get /v1/event-types",
      "post /v1/event-types",
      "patch /v1/event-types/{name}",
      "delete /v1/event-types/{name}",
      "post /v1/webhooks",
      "get /v1/webhooks",
      "get /v1/webhooks/{id}",
      "patch /v1/webhooks/{id}",
      "delete /v1/webhooks/{id}",
      "get /v1/webhooks/{id}/deliveries",
      "get /v1/webhooks/{id}/stats",
      "post /v1/webhooks/{id}/test",
      "post /v1/webhooks/{id}/rotate-secret",
      "post /v1/webhooks/{id}/recover",
      "post /v1/events",
      "get /v1/events",
      "get /v1/events/{id}",
      "get /v1/deliveries/{id}",
      "post /v1/deliveries/{id}/retry",
      "post /v1/webhooks/{id}/replay",
      "get /v1/webhooks/{id}/replays/{replay_id}",
      "get /v1/stats/deliveries",
      "post /v1/portal-links",
      "get /v1/portal/branding",
      "get /v1/whoami",
    ];
    for (const route of expected) {
      const [method, path] = route.split(" ") as [string, string];
      const op = spec.paths[path]?.[method];
      expect(op, route).toBeDefined();
      expect(op?.security, route).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
      expect(Object.keys(op?.responses ?? {}), route).toContain("401");
      const bodyless = ["/test", "/retry"].some((suffix) => path.endsWith(suffix));
      if ((method === "post" || method === "patch") && !bodyless) expect(op?.requestBody, route).toBeDefined();
    }
    const v1 = Object.entries(spec.paths).flatMap(([p, ops]) =>
      p.startsWith("/v1") ? Object.keys(ops).map((m) => `${m} ${p}`) : [],
    );
    expect(v1.sort()).toEqual([...expected].sort());
  });
});

describe("over real sockets", () => {
  test("a webhook round-trip with X-API-Key", async () => {
    await fetch(`${server.url}/v1/event-types`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ name: "invoice.paid" }),
    });
    const created = await fetch(`${server.url}/v1/webhooks`, {
      method: "POST",
      headers: { "x-api-key": ROOT_KEY, "content-type": "application/json" },
      body: JSON.stringify({ tenant_id: "acme", url: "https://hooks.example.com/in", events: ["invoice.*"] }),
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { id: string; secret: string };
    const got = await fetch(`${server.url}/v1/webhooks/${body.id}`, { headers: auth });
    expect(got.status).toBe(200);
    expect(await got.json()).not.toHaveProperty("secret");
  });

  test("a body over server.max_body_bytes is refused with 413 and the JSON envelope", async () => {
    const res = await fetch(`${server.url}/v1/webhooks`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ description: "x".repeat(10_000) }),
    });
    await expectError(res, 413, "payload_too_large");
  });

  test("a chunked body over the limit (no content-length) is refused too", async () => {
    const chunks = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode(`"${"y".repeat(1000)}",`));
        c.close();
      },
    });
    const res = await fetch(`${server.url}/v1/webhooks`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: chunks,
    });
    expect(res.status).toBe(413);
  });
});

describe("the access log's path", () => {
  test.each([
    "http://127.0.0.1:8080/v1/events",
    "http://127.0.0.1:8080/v1/webhooks?tenant_id=t&limit=2",
    "http://[::1]:8080/",
    "http://localhost/v1/deliveries/dlv_01?x=/y",
    "https://hooks.example.com:8443/a/b%20c?",
    "http://127.0.0.1:8080/a#frag",
    "http://127.0.0.1:8080/a?q=1#frag/x",
    "http://127.0.0.1:8080",
  ])("%s: as URL.pathname has it", (url) => {
    expect(pathOf(url)).toBe(new URL(url).pathname);
  });
});
