// Debian's Chromium driven by playwright-core (no browser download). Tests that need it call
// `browserTest`: where /usr/bin/chromium is missing they are skipped with one loud line, unless
// HOOKLINE_REQUIRE_BROWSER=1 (set by .ci/run), which turns the skip into a failure.
import { test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const ARTEFACTS = join(import.meta.dir, "..", "..", "test-artefacts");

const present = existsSync(CHROMIUM);
const required = process.env.HOOKLINE_REQUIRE_BROWSER === "1";
if (!present && !required) {
  console.warn(`\n!!! SKIPPING BROWSER TESTS: ${CHROMIUM} not found (apt-get install -y chromium) !!!\n`);
}

/** `test`, or a failing test when Chromium is required but missing, or a loud skip. */
export function browserTest(name: string, fn: () => Promise<void>, timeoutMs = 60_000): void {
  if (present) test(name, fn, timeoutMs);
  else if (required) test(name, () => { throw new Error(`${CHROMIUM} is required (HOOKLINE_REQUIRE_BROWSER=1) but missing`); });
  // Skipped only where the machine lacks it, after the loud line above; CI refuses the skip.
  else test.skip(name, fn);
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // As root Chromium needs --no-sandbox; the rest keep it from calling out to Google's
    // services, which this closed network refuses.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Where screenshots go (test-artefacts/, ignored by git). */
export function artefactPath(name: string): string {
  mkdirSync(ARTEFACTS, { recursive: true });
  return join(ARTEFACTS, name);
}
