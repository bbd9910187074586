// The tenant portal in Debian's Chromium against a real server: a portal link (made by a tenant
// admin's key) opens its tenant's webhooks only, adds one with its secret shown once, shows the
// delivery log with attempts and retries; a viewer link shows no action; an expired, revoked or
// missing token gets the clear "ask for a new one" page; the token leaves the address bar and is
// in no URL, cookie or localStorage; nothing leaves the origin; no page error or CSP violation;
// axe-core finds nothing serious; another origin may frame the portal only when
// [console] frame_ancestors names it.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { fakeClockAfterIssuedIds, json } from "../support/fixtures.ts";
import { artefactPath, browserTest, launchBrowser } from "../support/browser.ts";
import { type Harness, harness } from "../support/harness.ts";
import { type Receiver, receiver } from "../support/receiver.ts";
import { axe, sameOriginOnly, until, watchCsp } from "./page-checks.ts";

const ACCENT = "#0f766e";
const TITLE = "Acme Webhooks";

let h: Harness;
let browser: Browser | undefined;
let failing: Receiver;
let healthy: Receiver;
let acmeAdmin: string;
let acmeHookUrl: string;
let globexHookUrl: string;
let failedDelivery: string;
/** Another loopback origin, whose page frames what `embed.src` says. */
let embedder: ReturnType<typeof Bun.serve>;
const embed = { src: "about:blank" };
let framing: Harness;

interface Link {
  id: string;
  url: string;
  expires_at: string;
}

const tokenOf = (l: Link) => new URL(l.url).hash.replace(/^#token=/, "");

async function portalLink(on: Harness, key: string, body: Record<string, unknown> = {}): Promise<Link> {
  const res = await on.call("POST", "/v1/portal-links", { key, body });
  expect(res.status, await res.clone().text()).toBe(201);
  return json<Link>(res);
}

interface Watch {
  page: Page;
  context: BrowserContext;
  problems: string[];
  urls: string[];
  /** Chromium's console lines, errors included (what a blocked frame says). */
  lines: string[];
  /** Set by the tests that present a refused token: its 401s are expected, any other failed load is not. */
  refusals: boolean;
}

async function open(): Promise<Watch> {
  browser ??= await launchBrowser();
  // Contexts stay open until the browser closes (see console.browser.test.ts for why).
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const w: Watch = { page, context, problems: [], urls: [], lines: [], refusals: false };
  await watchCsp(page);
  page.on("pageerror", (e) => w.problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    w.lines.push(m.text());
    const refusal = w.refusals && /status of 401/.test(m.text()) && new URL(m.location().url).pathname.startsWith("/v1/");
    if (m.type() === "error" && !refusal) w.problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) w.urls.push(f.url());
  });
  return w;
}


const shot = (page: Page, name: string) => page.screenshot({ path: artefactPath(`portal-${name}.png`), fullPage: true });

/**
 * The token left the address bar (only the navigation that brought it had it) and is in no
 * cookie or localStorage; every resource came from `origin`; no CSP violation, no page error.
 */
async function clean(w: Watch, token: string, origin = h.url): Promise<void> {
  expect(w.page.url()).not.toContain(token);
  for (const url of w.urls.slice(1)) expect(url).not.toContain(token);
  expect(JSON.stringify(await w.context.cookies())).not.toContain(token);
  expect(await w.page.evaluate("JSON.stringify({ ...localStorage })")).toBe("{}");
  await sameOriginOnly(w.page, origin);
  expect(w.problems).toEqual([]);
}


beforeAll(async () => {
  h = await harness(
    { security: { allow_http: true, allow_private_networks: true }, delivery: { retry_schedule: [], jitter: 0 }, console: { portal_title: TITLE, accent_color: ACCENT, frame_ancestors: [] } },
    { autoDispatch: true },
  );
  failing = receiver(200);
  failing.answers.push({ status: 500, body: "receiver exploded" });
  healthy = receiver(204);
  for (const [name, description] of [["member.added", "A member joined a workspace"], ["invoice.paid", "An invoice was paid in full"]]) {
    expect((await h.call("POST", "/v1/event-types", { body: { name, description } })).status).toBe(201);
  }
  acmeAdmin = await h.key("acme", "admin");
  acmeHookUrl = `${failing.url}/acme-crm`;
  globexHookUrl = `${healthy.url}/globex-only`;
  const made = await h.call("POST", "/v1/webhooks", { key: acmeAdmin, body: { url: acmeHookUrl, events: ["member.added"], description: "CRM sync" } });
  const acmeHook = (await json<{ id: string }>(made)).id;
  expect((await h.call("POST", "/v1/webhooks", { body: { tenant_id: "globex", url: globexHookUrl, events: ["member.added"] } })).status).toBe(201);
  expect((await h.call("POST", "/v1/events", { key: acmeAdmin, body: { type: "member.added", data: { member_id: "m_1", name: "Zoë" } } })).status).toBe(202);
  failedDelivery = await until("the failed delivery", async () => {
    const res = await h.call("GET", `/v1/webhooks/${acmeHook}/deliveries?status=failed`, { key: acmeAdmin });
    return (await json<{ data: { id: string }[] }>(res)).data[0]?.id;
  });
  embedder = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () =>
      new Response(`<!doctype html><html lang="en"><head><title>A product</title></head><body><h1>A product's settings</h1><iframe title="Webhooks" src="${embed.src}" width="1000" height="700"></iframe></body></html>`, {
        headers: { "content-type": "text/html; charset=utf-8" },
      }),
  });
  framing = await harness({ console: { frame_ancestors: [embedder.url.origin] } });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await embedder?.stop(true);
  await failing?.stop();
  await healthy?.stop();
  await framing?.close();
  await h?.close();
});

describe("the tenant portal in Chromium", () => {
  browserTest("a link shows its tenant's webhooks only, branded; adds one with its secret shown once; the delivery log retries", async () => {
    const link = await portalLink(h, acmeAdmin);
    const token = tokenOf(link);
    const w = await open();
    await w.page.goto(link.url);
    await w.page.getByRole("link", { name: acmeHookUrl }).waitFor();
    expect(w.urls[0]).toBe(link.url);
    expect(w.page.url()).toBe(`${h.url}/portal`);
    // Kept in this tab's sessionStorage (the control for "nowhere else").
    expect(await w.page.evaluate("Object.values(sessionStorage)")).toEqual([token]);
    await expect(w.page.getByRole("link", { name: globexHookUrl }).count()).resolves.toBe(0);
    await expect(w.page.locator("body").innerText()).resolves.not.toContain("globex");
    // Branding: the title, and the accent through the CSSOM (no style attribute, CSP intact).
    expect(await w.page.title()).toBe(TITLE);
    await w.page.getByRole("link", { name: TITLE }).waitFor();
    expect(await w.page.evaluate(`getComputedStyle(document.documentElement).getPropertyValue("--accent").trim()`)).toBe(ACCENT);
    await expect(w.page.getByRole("button", { name: "Add an endpoint" }).evaluate((b) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(b).backgroundColor)).resolves.toBe("rgb(15, 118, 110)");
    await shot(w.page, "webhooks");
    await axe(w.page, "webhooks");

    await w.page.getByRole("button", { name: "Add an endpoint" }).click();
    await w.page.getByLabel("Endpoint URL").fill(`${healthy.url}/from-portal`);
    await w.page.getByLabel("Description").fill("Added by the customer");
    // The catalog with its descriptions, as checkboxes.
    await w.page.getByText("An invoice was paid in full").waitFor();
    await w.page.getByLabel(/member\.added/).check();
    await shot(w.page, "add");
    await axe(w.page, "add");
    await w.page.getByRole("button", { name: "Add endpoint" }).click();
    const secret = await w.page.getByTestId("secret-value").innerText();
    expect(secret).toMatch(/^whsec_/);
    await w.page.getByRole("button", { name: "Copy Signing secret" }).waitFor();
    await w.page.getByRole("link", { name: `${healthy.url}/from-portal` }).waitFor();
    await shot(w.page, "secret");
    await axe(w.page, "secret");
    const listed = await json<{ data: { url: string; tenant_id: string; events: string[] }[] }>(await h.call("GET", "/v1/webhooks?tenant=acme&limit=100"));
    expect(listed.data.find((x) => x.url === `${healthy.url}/from-portal`)).toMatchObject({ tenant_id: "acme", events: ["member.added"] });
    await w.page.getByRole("button", { name: "I have copied it" }).click();
    await expect(w.page.locator("body").innerText()).resolves.not.toContain(secret);

    // The delivery log of the failing endpoint: the attempt's status, duration, body; retry.
    await w.page.getByRole("link", { name: acmeHookUrl }).click();
    await w.page.getByRole("cell", { name: failedDelivery }).waitFor();
    await shot(w.page, "webhook");
    await axe(w.page, "webhook-log");
    await w.page.getByRole("link", { name: failedDelivery }).click();
    expect(w.page.url()).toBe(`${h.url}/portal/deliveries/${failedDelivery}`);
    await w.page.getByText("receiver exploded").first().waitFor({ state: "attached" });
    await expect(w.page.getByTestId("attempt").first().innerText()).resolves.toContain("HTTP 500");
    await expect(w.page.getByTestId("event-body").innerText()).resolves.toContain('"name": "Zoë"');
    await w.page.getByRole("button", { name: "Retry now" }).click();
    await w.page.getByText("Attempt 2").waitFor();
    await expect(w.page.getByTestId("attempt").first().innerText()).resolves.toContain("HTTP 200");
    await shot(w.page, "deliveries");
    await axe(w.page, "deliveries");

    // A reload keeps the tab's token; the address still has none.
    await w.page.reload();
    await w.page.getByText("Attempt 2").waitFor();
    await clean(w, token);
  });

  browserTest("a webhook's actions: edit, disable, test, rotate (shown once), replay, delete", async () => {
    const link = await portalLink(h, acmeAdmin);
    const w = await open();
    await w.page.goto(link.url);
    await w.page.getByRole("button", { name: "Add an endpoint" }).click();
    await w.page.getByLabel("Endpoint URL").fill(`${healthy.url}/to-change`);
    await w.page.getByLabel(/Every event type/).check();
    await w.page.getByRole("button", { name: "Add endpoint" }).click();
    await w.page.getByRole("link", { name: `${healthy.url}/to-change` }).click();
    await w.page.getByRole("button", { name: "Edit" }).click();
    await w.page.getByLabel("Description").fill("Changed in the portal");
    await w.page.getByRole("button", { name: "Save changes" }).click();
    await w.page.getByText("Changed in the portal").waitFor();
    await w.page.getByRole("button", { name: "Disable" }).click();
    await w.page.getByRole("button", { name: "Enable" }).waitFor();
    await w.page.getByRole("button", { name: "Enable" }).click();
    await w.page.getByRole("button", { name: "Send test event" }).click();
    await w.page.getByText("A test event is on its way.").waitFor();
    await w.page.getByRole("button", { name: "Rotate secret" }).click();
    await w.page.getByRole("button", { name: "Yes, rotate secret" }).click();
    await expect(w.page.getByTestId("secret-value").innerText()).resolves.toMatch(/^whsec_/);
    // An admin link may replay its endpoint (the console's component; no runner here, so it stays running).
    await w.page.getByRole("button", { name: "Start replay" }).click();
    await w.page.getByTestId("replay-status").getByText("running").waitFor();
    await axe(w.page, "webhook");
    await w.page.getByRole("button", { name: "Delete" }).click();
    await w.page.getByRole("button", { name: "Yes, delete" }).click();
    await w.page.getByRole("heading", { name: "Endpoints" }).waitFor();
    await w.page.getByRole("link", { name: acmeHookUrl }).waitFor();
    await expect(w.page.getByRole("link", { name: `${healthy.url}/to-change` }).count()).resolves.toBe(0);
    await clean(w, tokenOf(link));
  });

  browserTest("a viewer link sees the webhooks and deliveries but no action", async () => {
    const link = await portalLink(h, acmeAdmin, { role: "viewer" });
    const w = await open();
    await w.page.goto(link.url);
    await w.page.getByRole("link", { name: acmeHookUrl }).click();
    await w.page.getByRole("cell", { name: failedDelivery }).waitFor();
    await w.page.getByText("Event types").first().waitFor();
    for (const name of ["Edit", "Disable", "Enable", "Send test event", "Rotate secret", "Delete", "Start replay"]) {
      await expect(w.page.getByRole("button", { name, exact: true }).count()).resolves.toBe(0);
    }
    await w.page.getByRole("link", { name: failedDelivery }).click();
    await w.page.getByText("Attempt 1").first().waitFor();
    await expect(w.page.getByRole("button", { name: "Retry now" }).count()).resolves.toBe(0);
    await w.page.getByRole("link", { name: TITLE }).click();
    await w.page.getByRole("link", { name: acmeHookUrl }).waitFor();
    await expect(w.page.getByRole("button", { name: "Add an endpoint" }).count()).resolves.toBe(0);
    await clean(w, tokenOf(link));
  });

  browserTest("an expired link, a revoked one (even while open) and none at all get the 'ask for a new one' page", async () => {
    const clock = fakeClockAfterIssuedIds();
    const timed = await harness({}, { clock });
    try {
      const admin = await timed.key("acme", "admin");
      const expiring = await portalLink(timed, admin, { ttl: "1m" });
      clock.advance(60_000);
      const w = await open();
      w.refusals = true;
      await w.page.goto(expiring.url);
      await w.page.getByRole("heading", { name: "This link has expired or was revoked" }).waitFor();
      await w.page.getByText("Ask for a new one").waitFor();
      // The refused token is forgotten too.
      expect(await w.page.evaluate("JSON.stringify({ ...sessionStorage })")).toBe("{}");
      await shot(w.page, "expired");
      await axe(w.page, "expired");
      await clean(w, tokenOf(expiring), timed.url);

      const revoked = await portalLink(timed, admin);
      const r = await open();
      r.refusals = true;
      await r.page.goto(revoked.url);
      await r.page.getByRole("heading", { name: "Endpoints" }).waitFor();
      // As below: the list's GET done first, or its 401 forgets the token before the reload.
      await r.page.getByText("Loading your endpoints…").waitFor({ state: "hidden" });
      expect((await timed.call("DELETE", `/v1/keys/${revoked.id}`, { key: admin })).status).toBe(204);
      await r.page.reload();
      await r.page.getByRole("heading", { name: "This link has expired or was revoked" }).waitFor();
      await clean(r, tokenOf(revoked), timed.url);

      // Revoked while the page is open: its next call is a 401, and the page says so.
      const open2 = await portalLink(timed, admin);
      const o = await open();
      o.refusals = true;
      await o.page.goto(open2.url);
      await o.page.getByRole("button", { name: "Add an endpoint" }).waitFor();
      // The button shows before the list has loaded; revoking while that GET is in flight would
      // have it, not the click below, meet the 401 (and the button gone before it is pressed).
      await o.page.getByText("Loading your endpoints…").waitFor({ state: "hidden" });
      expect((await timed.call("DELETE", `/v1/keys/${open2.id}`, { key: admin })).status).toBe(204);
      await o.page.getByRole("button", { name: "Add an endpoint" }).click();
      await o.page.getByRole("heading", { name: "This link has expired or was revoked" }).waitFor();
      await clean(o, tokenOf(open2), timed.url);

      const none = await open();
      await none.page.goto(`${timed.url}/portal`);
      await none.page.getByRole("heading", { name: "Open this page from your link" }).waitFor();
      expect(none.problems).toEqual([]);
    } finally {
      await timed.close();
    }
  });

  browserTest("another origin frames the portal only when [console] frame_ancestors names it", async () => {
    const allowedAdmin = await framing.key("acme", "admin");
    const allowed = await portalLink(framing, allowedAdmin);
    embed.src = allowed.url;
    const w = await open();
    await w.page.goto(embedder.url.href);
    const frame = w.page.frameLocator("iframe");
    await frame.getByRole("heading", { name: "Endpoints" }).waitFor();
    await frame.getByRole("button", { name: "Add an endpoint" }).waitFor();
    const child = w.page.frames().find((f) => f !== w.page.mainFrame());
    expect(child?.url()).toBe(`${framing.url}/portal`);
    expect(w.problems).toEqual([]);

    // The same page framing the default server (frame-ancestors 'none'): Chromium refuses it.
    embed.src = (await portalLink(h, acmeAdmin)).url;
    const b = await open();
    await b.page.goto(embedder.url.href);
    await until("Chromium's refusal to frame", async () => (b.lines.some((l) => /^Framing '.+' violates .+frame-ancestors 'none'.+blocked/s.test(l)) ? true : undefined));
    // The frame holds Chromium's error page, not the portal.
    await until("the frame's error page", async () => (b.page.frames().some((f) => f.url().startsWith("chrome-error://")) ? true : undefined));
    expect(b.page.frames().map((f) => f.url())).not.toContain(`${h.url}/portal`);
  });
});
