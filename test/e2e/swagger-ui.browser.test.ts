// Swagger UI in a real browser (Debian's Chromium): an admin authorises with a key, and "Try it
// out" on POST /v1/webhooks, PATCH /v1/webhooks/{id} and POST /v1/events shows the example body
// in an editor; Execute sends the edited body with that key and the real API answers.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { artefactPath, browserTest, launchBrowser } from "../support/browser.ts";
import { type Harness, harness, ROOT_KEY } from "../support/harness.ts";

let h: Harness;
let browser: Browser | undefined;
let page: Page;
const sent: { method: string; path: string; authorization: string | undefined; body: string | null }[] = [];
const problems: string[] = [];

beforeAll(async () => {
  h = await harness();
  // The POST /v1/events example publishes member.added.
  expect((await h.call("POST", "/v1/event-types", { body: { name: "member.added" } })).status).toBe(201);
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function openDocs(): Promise<void> {
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (url.origin !== h.url) problems.push(`request left the origin: ${r.url()}`);
    if (url.pathname.startsWith("/v1/")) {
      sent.push({ method: r.method(), path: url.pathname, authorization: r.headers().authorization, body: r.postData() });
    }
  });
  await page.goto(`${h.url}/docs`);
  await page.waitForSelector("#operations-Webhooks-createWebhook");
  await page.click("button.authorize");
  await page.fill("#auth-bearer-value", ROOT_KEY);
  await page.click(".modal-ux .auth-container:has(#auth-bearer-value) button.authorize");
  await page.click(".modal-ux button.btn-done");
}

/** Opens an operation, presses "Try it out", and returns the example body its editor shows. */
async function tryItOut(opId: string): Promise<{ block: string; example: unknown }> {
  const block = `#${opId}`;
  await page.click(`${block} .opblock-summary`);
  await page.click(`${block} .try-out__btn`);
  const editor = page.locator(`${block} textarea.body-param__text`);
  await editor.waitFor();
  return { block, example: JSON.parse(await editor.inputValue()) };
}

/** Puts `body` in the operation's editor, presses Execute and returns the status and body shown. */
async function execute(block: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  if (body !== undefined) await page.fill(`${block} textarea.body-param__text`, JSON.stringify(body, null, 2));
  await page.click(`${block} button.execute`);
  const status = page.locator(`${block} .live-responses-table .response .response-col_status`).first();
  await status.waitFor();
  const text = await page.locator(`${block} .live-responses-table .response-col_description pre.microlight`).first().innerText();
  return { status: Number((await status.innerText()).trim()), json: JSON.parse(text) as Record<string, unknown> };
}

describe("Swagger UI (/docs)", () => {
  browserTest("Try it out edits and sends POST /v1/webhooks, PATCH /v1/webhooks/{id} and POST /v1/events with the authorised key", async () => {
    await openDocs();

    const create = await tryItOut("operations-Webhooks-createWebhook");
    expect(create.example).toEqual({ tenant_id: "acme", url: "https://example.com/webhooks", events: ["member.*"], description: "CRM sync" });
    const created = await execute(create.block, { ...(create.example as object), description: "made in Swagger UI" });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ tenant_id: "acme", description: "made in Swagger UI", secret: expect.stringMatching(/^whsec_/) });
    const id = created.json.id as string;
    await page.screenshot({ path: artefactPath("swagger-ui-create-webhook.png"), fullPage: false });

    const patch = await tryItOut("operations-Webhooks-updateWebhook");
    expect(patch.example).toEqual({ description: "CRM sync (v2)", events: ["member.added"] });
    await page.fill("#operations-Webhooks-updateWebhook input[placeholder='id']", id);
    const patched = await execute(patch.block, { ...(patch.example as object), enabled: false });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ id, description: "CRM sync (v2)", events: ["member.added"], enabled: false });

    const publish = await tryItOut("operations-Events-publishEvent");
    expect(publish.example).toEqual({ tenant_id: "acme", type: "member.added", data: { member_id: "m_1" } });
    const published = await execute(publish.block, { ...(publish.example as object), data: { member_id: "m_2" } });
    expect(published.status).toBe(202);
    expect(published.json).toMatchObject({ type: "member.added", tenant_id: "acme" });

    // What the browser really sent: the edited bodies, each with the key typed into Authorize.
    expect(sent.map((s) => `${s.method} ${s.path}`)).toEqual(["POST /v1/webhooks", `PATCH /v1/webhooks/${id}`, "POST /v1/events"]);
    for (const s of sent) expect(s.authorization).toBe(`Bearer ${ROOT_KEY}`);
    expect(JSON.parse(sent[2]?.body ?? "{}")).toEqual({ tenant_id: "acme", type: "member.added", data: { member_id: "m_2" } });
    // And the server agrees: the webhook exists, changed, and the event was stored.
    const stored = (await (await h.call("GET", `/v1/webhooks/${id}`)).json()) as Record<string, unknown>;
    expect(stored).toMatchObject({ description: "CRM sync (v2)", enabled: false });
    const events = (await (await h.call("GET", "/v1/events?tenant=acme")).json()) as { data: { data: unknown }[] };
    expect(events.data.map((e) => e.data)).toEqual([{ member_id: "m_2" }]);
    expect(problems).toEqual([]);
  });
});
