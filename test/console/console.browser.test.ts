// The console in Debian's Chromium against a real server and real receivers: sign in, find a
// failing delivery from the overview, retry it and see the new attempt; create a webhook and see
// its secret once; a viewer sees no action it cannot take; the keyboard reaches every action on
// the webhook page; the key stays out of URLs, cookies and localStorage; nothing leaves the
// origin; no page error, no CSP violation; axe-core finds nothing serious on any page. A replay
// backfills events published before their webhook, its progress read until done.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ReplayRunner } from "../../src/delivery/replay-runner.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { artefactPath, browserTest, launchBrowser } from "../support/browser.ts";
import { type Harness, harness, ROOT_KEY } from "../support/harness.ts";
import { type Receiver, receiver } from "../support/receiver.ts";
import { axe, sameOriginOnly, until, watchCsp } from "./page-checks.ts";

let h: Harness;
let browser: Browser | undefined;
let failing: Receiver;
let healthy: Receiver;
let adminKey: string;
let viewerKey: string;
let failingWebhook: string;
let failedDelivery: string;

interface Watch {
  page: Page;
  context: BrowserContext;
  problems: string[];
  urls: string[];
  /**
   * Failed loads this test provokes on purpose (e.g. a 422 it checks the page shows), which
   * Chromium logs as "Failed to load resource"; any other failed load is a problem.
   */
  provoked: RegExp[];
}

async function open(): Promise<Watch> {
  browser ??= await launchBrowser();
  // One context per test, left open until the browser closes: closing one while its last
  // responses were still being reported made playwright-core fail the next test at random
  // ("Object with guid response@… was not bound in the connection").
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  const urls: string[] = [];
  const provoked: RegExp[] = [];
  await watchCsp(page);
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const where = m.location().url;
    if (m.text().startsWith("Failed to load resource") && provoked.some((re) => re.test(where))) return;
    problems.push(`console: ${m.text()} (${where})`);
  });
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) urls.push(f.url());
  });
  return { page, context, problems, urls, provoked };
}

async function signIn(w: Watch, key: string, path = "/console"): Promise<void> {
  await w.page.goto(`${h.url}${path}`);
  await w.page.getByLabel("API key").fill(key);
  await w.page.getByRole("button", { name: "Sign in" }).click();
  await w.page.getByRole("button", { name: "Sign out" }).waitFor();
}


async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: artefactPath(`console-${name}.png`), fullPage: true });
}

/** The key never reached a URL, a cookie, localStorage, and nothing broke. */
async function clean(w: Watch, key: string): Promise<void> {
  for (const url of [...w.urls, w.page.url()]) expect(url).not.toContain(key);
  expect(JSON.stringify(await w.context.cookies())).not.toContain(key);
  expect(await w.page.evaluate("JSON.stringify({ ...localStorage })")).toBe("{}");
  await sameOriginOnly(w.page, h.url);
  expect(w.problems).toEqual([]);
}


beforeAll(async () => {
  // No retries: a failed first attempt is final, so the failing webhook has a failed delivery.
  h = await harness({ security: { allow_http: true, allow_private_networks: true }, delivery: { retry_schedule: [], jitter: 0 } }, { autoDispatch: true });
  failing = receiver(200);
  failing.answers.push({ status: 500, body: "receiver exploded" });
  healthy = receiver(204);
  for (const name of ["member.added", "invoice.paid"]) {
    expect((await h.call("POST", "/v1/event-types", { body: { name, description: `When ${name.replace(".", " is ")}` } })).status).toBe(201);
  }
  adminKey = await h.key("acme", "admin");
  viewerKey = await h.key("acme", "viewer");
  const hook = async (url: string, events: string[], description: string) => {
    const res = await h.call("POST", "/v1/webhooks", { key: adminKey, body: { url, events, description, headers: { authorization: "Bearer receiver-token-123" } } });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  failingWebhook = await hook(`${failing.url}/crm`, ["member.*"], "CRM sync");
  await hook(`${healthy.url}/billing`, ["invoice.paid"], "Billing");
  for (const [type, data] of [["member.added", { member_id: "m_1", name: "Zoë" }], ["invoice.paid", { invoice: "in_1", total: 4200 }]] as const) {
    expect((await h.call("POST", "/v1/events", { key: adminKey, body: { type, data } })).status).toBe(202);
  }
  failedDelivery = await until("the failed delivery", async () => {
    const res = await h.call("GET", `/v1/webhooks/${failingWebhook}/deliveries?status=failed`, { key: adminKey });
    return ((await res.json()) as { data: { id: string }[] }).data[0]?.id;
  });
});

afterAll(async () => {
  await browser?.close();
  await failing?.stop();
  await healthy?.stop();
  await h?.close();
});

describe("the console in Chromium", () => {
  browserTest("sign in, find the failing delivery from the overview, retry it and see the new attempt", async () => {
    const w = await open();
    await w.page.goto(`${h.url}/console`);
    await w.page.getByLabel("API key").waitFor();
    await shot(w.page, "sign-in");
    await axe(w.page, "sign-in");
    await signIn(w, adminKey);
    // Where the key is kept (the control for the checks that it is nowhere else).
    expect(await w.page.evaluate("Object.values(sessionStorage)")).toEqual([adminKey]);
    // The charts of GET /v1/stats/deliveries: two uPlot canvases with their legends.
    await w.page.locator("figure.chart canvas").nth(1).waitFor();
    await w.page.getByRole("figure", { name: /Deliveries per minute/ }).getByText("failed").first().waitFor();
    await w.page.getByRole("link", { name: failedDelivery }).waitFor();
    await shot(w.page, "overview");
    await axe(w.page, "overview");

    await w.page.getByRole("link", { name: failedDelivery }).click();
    await w.page.getByText("receiver exploded").first().waitFor({ state: "attached" });
    expect(w.page.url()).toBe(`${h.url}/console/deliveries/${failedDelivery}`);
    await expect(w.page.getByTestId("attempt").count()).resolves.toBe(1);
    await expect(w.page.getByTestId("event-body").innerText()).resolves.toContain('"name": "Zoë"');
    // The webhook's secret-looking header as the API shows it: masked.
    await expect(w.page.locator("body").innerText()).resolves.not.toContain("receiver-token-123");
    await shot(w.page, "delivery");
    await axe(w.page, "delivery");

    await w.page.getByRole("button", { name: "Retry now" }).click();
    await w.page.getByText("Attempt 2").waitFor();
    await expect(w.page.getByTestId("attempt").first().innerText()).resolves.toContain("HTTP 200");
    await expect(w.page.getByTestId("attempts-count").innerText()).resolves.toBe("2");
    expect(failing.received.length).toBe(2);
    await shot(w.page, "delivery-retried");

    // A pasted deep link in a new tab asks for the key, then opens the same delivery.
    const fresh = await open();
    await signIn(fresh, adminKey, `/console/deliveries/${failedDelivery}`);
    await fresh.page.getByText("Attempt 2").waitFor();
    await clean(fresh, adminKey);
    await clean(w, adminKey);
  });

  browserTest("create a webhook: its secret shown once with a copy button, gone after a reload", async () => {
    const w = await open();
    await signIn(w, adminKey, "/console/webhooks");
    await w.page.getByRole("link", { name: `${failing.url}/crm` }).waitFor();
    await shot(w.page, "webhooks");
    await axe(w.page, "webhooks");
    await w.page.getByRole("button", { name: "Add a webhook" }).click();
    await w.page.getByLabel("Endpoint URL").fill(`${healthy.url}/new`);
    await w.page.getByLabel(/^Event types/).fill("member.added, invoice.paid");
    await w.page.getByLabel("Description").fill("Made in the console");
    await w.page.getByRole("button", { name: "Create webhook" }).click();
    const secret = await w.page.getByTestId("secret-value").innerText();
    expect(secret).toMatch(/^whsec_/);
    await w.page.getByRole("button", { name: "Copy Signing secret" }).waitFor();
    await shot(w.page, "webhook-secret-once");
    await axe(w.page, "webhook-secret-once");
    const created = (await (await h.call("GET", "/v1/webhooks?limit=100", { key: adminKey })).json()) as { data: { url: string }[] };
    expect(created.data.map((x) => x.url)).toContain(`${healthy.url}/new`);
    await w.page.reload();
    await w.page.getByRole("link", { name: `${healthy.url}/new` }).waitFor();
    expect(await w.page.content()).not.toContain(secret);
    await clean(w, adminKey);
  });

  browserTest("the keyboard alone reaches every action on the webhook page, and Enter sends a test", async () => {
    const w = await open();
    await signIn(w, adminKey, `/console/webhooks/${failingWebhook}`);
    await w.page.getByRole("button", { name: "Send test event" }).waitFor();
    await w.page.getByRole("cell", { name: failedDelivery }).waitFor();
    await shot(w.page, "webhook");
    await axe(w.page, "webhook");
    const wanted = [
      "Edit", "Disable", "Send test event", "Rotate secret", "Delete", "Recover failed deliveries since", "Recover",
      "Replay events since", "Until (optional)", "Only these event types (optional)", "Start replay",
      "Status", "Refresh", "Sign out", `Copy ${failedDelivery}`,
    ];
    const reached = new Set<string>();
    await w.page.locator("body").focus();
    for (let i = 0; i < 80 && !wanted.every((n) => reached.has(n)); i++) {
      await w.page.keyboard.press("Tab");
      const name = (await w.page.evaluate(`(() => {
        const el = document.activeElement;
        if (!el) return "";
        const id = el.getAttribute("id");
        const label = id ? document.querySelector('label[for="' + id + '"]')?.textContent : null;
        return (el.getAttribute("aria-label") ?? label ?? el.textContent ?? "").trim();
      })()`)) as string;
      reached.add(name);
    }
    expect(wanted.filter((n) => !reached.has(n))).toEqual([]);
    // Focus is visible: the focused button gets an outline.
    await w.page.getByRole("button", { name: "Send test event" }).focus();
    const outline = await w.page.evaluate("getComputedStyle(document.activeElement).outlineStyle");
    expect(outline).toBe("solid");
    await w.page.keyboard.press("Enter");
    await w.page.getByText(/Test event sent as delivery dlv_/).waitFor();
    // Rotate with the keyboard: ask, confirm, see the new secret once.
    await w.page.getByRole("button", { name: "Rotate secret" }).focus();
    await w.page.keyboard.press("Enter");
    await w.page.getByRole("button", { name: "Yes, rotate secret" }).focus();
    await w.page.keyboard.press("Enter");
    await expect(w.page.getByTestId("secret-value").innerText()).resolves.toMatch(/^whsec_/);
    await shot(w.page, "webhook-rotated");
    await clean(w, adminKey);
  });

  browserTest("a viewer sees no edit, delete, rotate, test, recover, retry or keys", async () => {
    const w = await open();
    await signIn(w, viewerKey, `/console/webhooks/${failingWebhook}`);
    // The details (where an admin's buttons are) and the deliveries have both rendered.
    await w.page.getByText("Success rate (24 h)").waitFor();
    await w.page.getByRole("cell", { name: failedDelivery }).waitFor();
    for (const name of ["Edit", "Disable", "Enable", "Send test event", "Rotate secret", "Delete", "Recover", "Start replay"]) {
      await expect(w.page.getByRole("button", { name, exact: true }).count()).resolves.toBe(0);
    }
    await expect(w.page.getByRole("link", { name: "Keys" }).count()).resolves.toBe(0);
    await shot(w.page, "viewer-webhook");
    await w.page.getByRole("link", { name: failedDelivery }).click();
    await w.page.getByText("Attempt 1", { exact: false }).first().waitFor();
    await expect(w.page.getByRole("button", { name: "Retry now" }).count()).resolves.toBe(0);
    await w.page.getByRole("link", { name: "Webhooks" }).click();
    await w.page.getByRole("link", { name: `${failing.url}/crm` }).waitFor();
    await expect(w.page.getByRole("button", { name: "Add a webhook" }).count()).resolves.toBe(0);
    await w.page.getByRole("button", { name: "Sign out" }).click();
    await w.page.getByLabel("API key").waitFor();
    expect(await w.page.evaluate("JSON.stringify({ ...sessionStorage })")).toBe("{}");
    await clean(w, viewerKey);
  });

  browserTest("replay: events published before the webhook reach it, progress read to done; a second start while it runs is a 409, until before since a 422; a viewer sees no Replay", async () => {
    const admin = await h.key("replayco", "admin");
    const viewer = await h.key("replayco", "viewer");
    const target = receiver(204);
    // The harness runs no replay runner: this one starts after the 409 is seen, so the first job
    // is surely still running when the second start is asked for.
    const runner = new ReplayRunner({ store: h.deps.store, clock: h.deps.clock, logger: createLogger("silent"), wake: () => h.dispatcher.wake() });
    try {
      const published: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await h.call("POST", "/v1/events", { key: admin, body: { type: "member.added", data: { member_id: `m_r${i}` } } });
        expect(res.status).toBe(202);
        published.push(((await res.json()) as { id: string }).id);
      }
      // Subscribed to, but left out by the replay's event types.
      expect((await h.call("POST", "/v1/events", { key: admin, body: { type: "invoice.paid", data: { invoice: "in_r" } } })).status).toBe(202);
      const made = await h.call("POST", "/v1/webhooks", { key: admin, body: { url: `${target.url}/backfill`, events: ["member.*", "invoice.paid"] } });
      expect(made.status).toBe(201);
      const hookId = ((await made.json()) as { id: string }).id;

      const w = await open();
      await signIn(w, admin, `/console/webhooks/${hookId}`);
      await w.page.getByRole("heading", { name: "Replay events" }).waitFor();
      // The default window starts an hour ago in the viewer's zone: before the events above.
      expect(await w.page.getByLabel("Replay events since").inputValue()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
      await w.page.getByLabel("Only these event types (optional)").fill("member.*");
      await w.page.getByRole("button", { name: "Start replay" }).click();
      await w.page.getByTestId("replay-status").getByText("running").waitFor();
      expect(await w.page.getByRole("button", { name: "Start replay" }).isDisabled()).toBe(true);

      // Another admin's tab: a second start while the first runs is refused, and says why.
      const other = await open();
      other.provoked.push(/\/v1\/webhooks\/[^/]+\/replay$/);
      await signIn(other, admin, `/console/webhooks/${hookId}`);
      await other.page.getByRole("button", { name: "Start replay" }).click();
      await expect(other.page.getByRole("alert").innerText()).resolves.toMatch(/409: The webhook already has a running replay \(rpl_\w+\)/);
      // The window checked by the API, its field named next to the form.
      await other.page.getByLabel("Until (optional)").fill("2020-01-01T00:00");
      await other.page.getByRole("button", { name: "Start replay" }).click();
      await other.page.getByRole("alert").getByText("until: must not be before since").waitFor();
      await axe(other.page, "webhook-replay-refused");

      runner.start();
      await w.page.getByTestId("replay-status").getByText("done").waitFor({ timeout: 15_000 });
      await expect(w.page.getByTestId("replay-matched").innerText()).resolves.toBe("3");
      await expect(w.page.getByTestId("replay-created").innerText()).resolves.toBe("3");
      await expect(w.page.getByTestId("replay-skipped").innerText()).resolves.toBe("0");
      expect(await w.page.getByRole("button", { name: "Start replay" }).isDisabled()).toBe(false);
      await target.waitFor(3);
      expect(target.received.map((r) => (JSON.parse(r.body) as { id: string }).id).sort()).toEqual([...published].sort());
      // The page's deliveries were read again once the job was done.
      await w.page.getByRole("cell", { name: /^dlv_/ }).nth(2).waitFor();
      await shot(w.page, "replay");
      await axe(w.page, "webhook-replay");

      const v = await open();
      await signIn(v, viewer, `/console/webhooks/${hookId}`);
      await v.page.getByText("Success rate (24 h)").waitFor();
      await expect(v.page.getByRole("heading", { name: "Replay events" }).count()).resolves.toBe(0);
      await expect(v.page.getByRole("button", { name: "Start replay" }).count()).resolves.toBe(0);
      await clean(w, admin);
      await clean(other, admin);
      await clean(v, viewer);
    } finally {
      await runner.stop();
      await target.stop();
    }
  });

  browserTest("events, one event, event types with the schema editor, keys: a global admin picks a tenant", async () => {
    const w = await open();
    await signIn(w, ROOT_KEY, "/console/events?tenant=acme");
    await w.page.getByRole("cell", { name: "member.added" }).first().waitFor();
    await shot(w.page, "events");
    await axe(w.page, "events");
    await w.page.getByLabel("Type").fill("invoice.paid");
    await w.page.getByRole("button", { name: "Search" }).click();
    await w.page.getByRole("cell", { name: "member.added" }).first().waitFor({ state: "detached" });
    await w.page.getByRole("cell", { name: "invoice.paid" }).first().waitFor();
    await w.page.locator("td a[href^='/console/events/evt_']").first().click();
    await w.page.getByRole("heading", { name: /Event/ }).waitFor();
    expect(w.page.url()).toContain("?tenant=acme");
    await w.page.getByText('"total": 4200').waitFor();
    await shot(w.page, "event");
    await axe(w.page, "event");

    await w.page.getByRole("link", { name: "Event types" }).click();
    await w.page.getByRole("button", { name: "Edit member.added" }).click();
    await w.page.getByLabel(/^JSON Schema/).fill('{"type": "object", "required": ["member_id"], "properties": {"member_id": {"type": 7}}}');
    w.provoked.push(/\/v1\/event-types\/member\.added$/);
    await w.page.getByRole("button", { name: "Save", exact: true }).click();
    // The API's 422 names the problem.
    await w.page.getByRole("alert").waitFor();
    await shot(w.page, "event-types");
    await axe(w.page, "event-types");
    await w.page.getByLabel(/^JSON Schema/).fill('{"type": "object", "required": ["member_id"]}');
    await w.page.getByRole("button", { name: "Save", exact: true }).click();
    await w.page.getByRole("button", { name: "Edit member.added" }).waitFor();
    const types = (await (await h.call("GET", "/v1/event-types")).json()) as { data: { name: string; schema?: unknown }[] };
    expect(types.data.find((t) => t.name === "member.added")?.schema).toEqual({ type: "object", required: ["member_id"] });

    await w.page.getByRole("link", { name: "Keys" }).click();
    await w.page.getByRole("cell", { name: "acme-viewer" }).waitFor();
    await w.page.getByLabel("Name").fill("console-made");
    await w.page.getByRole("button", { name: "Create key" }).click();
    const key = await w.page.getByTestId("secret-value").innerText();
    expect(key).toMatch(/^hkl_/);
    expect((await h.call("GET", "/v1/webhooks", { key })).status).toBe(200);
    await shot(w.page, "keys");
    await axe(w.page, "keys");
    await w.page.getByRole("button", { name: "I have copied it" }).click();
    await w.page.getByRole("row", { name: /console-made/ }).getByRole("button", { name: "Revoke" }).click();
    await w.page.getByRole("button", { name: "Yes, revoke" }).click();
    await until("the key refused", async () => ((await h.call("GET", "/v1/webhooks", { key })).status === 401 ? true : undefined));
    await w.page.getByRole("link", { name: "Overview" }).click();
    await w.page.getByTestId("backlog").waitFor();
    expect(w.page.url()).toBe(`${h.url}/console?tenant=acme`);
    await clean(w, ROOT_KEY);
  });
});

