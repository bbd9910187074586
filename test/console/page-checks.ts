// What the console's and the portal's browser tests check on every page alike: no serious or
// critical axe-core violation, every resource from the server's origin, no CSP violation (a
// listener installed before the page's own scripts), and a bounded poll for a state.
import { readFileSync } from "node:fs";
import { expect } from "bun:test";
import type { Page } from "playwright-core";

const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Records CSP violations in window.__csp (a string: this file is type-checked without the DOM's types). */
export async function watchCsp(page: Page): Promise<void> {
  await page.addInitScript({
    content: `window.__csp = []; document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`,
  });
}

/** No serious or critical axe-core violation on the page as it stands. */
export async function axe(page: Page, name: string): Promise<void> {
  // Evaluated over the DevTools protocol: the page's CSP (no inline script) stays as served.
  await page.evaluate(AXE);
  const violations = (await page.evaluate(
    `axe.run().then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 3) })))`,
  )) as { id: string; impact: string; targets: string[] }[];
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect({ page: name, bad }).toEqual({ page: name, bad: [] });
}

/**
 * No CSP violation, and every resource the page loaded (documents, scripts, styles, fetches)
 * came from `origin`; one refused by the CSP would be in __csp. Read from the page's own
 * timeline rather than page.on("request"), with which playwright-core failed now and then here
 * ("Object with guid response@… was not bound in the connection").
 */
export async function sameOriginOnly(page: Page, origin: string): Promise<void> {
  expect(await page.evaluate("window.__csp")).toEqual([]);
  const loaded = (await page.evaluate(`performance.getEntries().map((e) => e.name).filter((n) => /^https?:/.test(n))`)) as string[];
  expect(loaded.length).toBeGreaterThan(0);
  expect(loaded.filter((u) => new URL(u).origin !== origin)).toEqual([]);
}

/** Polls `fn` every 20 ms until it gives a value (bounded): waits for a state, proves no absence. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
