// A child of webhook-quota.test.ts (not a test): opens the store on the file in argv[2] as a
// second process would (a `hookline keys` run, another server on a copy of the config), says
// "ready", waits for "go" on stdin so that every racer starts together, then creates webhooks
// for each tenant in turn against the quota and prints what each insert answered, as JSON.
import { DEFAULTS } from "../../src/config/defaults.ts";
import type { Config } from "../../src/config/types.ts";
import { openStore } from "../../src/db/open-store.ts";
import { webhookRecord } from "../store-contract/records.ts";

const [path = "", attemptsArg = "0", maxArg = "0", tag = "", ...tenants] = process.argv.slice(2);
const config = structuredClone(DEFAULTS) as Config;
config.database.path = path;
const { store, close } = await openStore(config, { purpose: "tool" });
process.stdout.write("ready\n");
const reader = Bun.stdin.stream().getReader();
await reader.read();
await reader.cancel();

const answers: string[] = [];
for (let i = 0; i < Number(attemptsArg); i++) {
  const tenantId = tenants[i % tenants.length] ?? "acme";
  const res = await store.insertWebhook(
    webhookRecord({ tenantId, url: `https://receiver.example/${tag}/${i}`, createdAt: Date.now() }),
    { maxPerTenant: Number(maxArg) },
  );
  answers.push(`${tenantId}:${res.ok ? "ok" : res.reason}`);
}
await close();
process.stdout.write(`${JSON.stringify(answers)}\n`);
