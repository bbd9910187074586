// A child of webhook-quota.test.ts (not a test): opens the store on the file in argv[2] as a
// second process would (a `hookline keys` run, another server on a copy of the config), says
// "ready", waits for "go" on stdin so that every racer starts together, then creates webhooks
// for each tenant in turn against the quota and prints what each insert answered, as JSON.
import { DEFAULTS } from "../../src/config/defaults.ts";
import type { Config } from "../../src/config/types.ts";
import { openStore } from "../../src/db/open-store.ts";
import { newId } from "../../src/lib/ids.ts";

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
  const now = Date.now();
  const res = await store.insertWebhook(
    {
      id: newId("wh", now),
      tenantId,
      url: `https://receiver.example/${tag}/${i}`,
      events: ["member.added"],
      description: "",
      headers: {},
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      previousSecret: null,
      previousSecretExpiresAt: null,
      enabled: true,
      disabledReason: null,
      failureCount: 0,
      failingSince: null,
      createdAt: now,
      updatedAt: now,
    },
    { maxPerTenant: Number(maxArg) },
  );
  answers.push(`${tenantId}:${res.ok ? "ok" : res.reason}`);
}
await close();
process.stdout.write(`${JSON.stringify(answers)}\n`);
