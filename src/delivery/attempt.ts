// One attempt of one delivery, from a claimed row to the outcome to record. Pure decisions
// (classify, next delay) live in retry-policy.ts; this file wires them to the sender.
import type { Config } from "../config/types.ts";
import type { Clock } from "../domain/clock.ts";
import { destinationPolicy, type Resolver, resolveHost } from "../domain/destination.ts";
import type { AttemptOutcome, ClaimedDelivery } from "../domain/store.ts";
import { classify, nextRetryDelay, type RetryPolicy } from "./retry-policy.ts";
import type { Sender, SendResult } from "./sender.ts";
import { activeSecrets, deliveryHeaders } from "./signing.ts";

export interface AttemptDeps {
  config: Config;
  clock: Clock;
  send: Sender;
  resolver: Resolver;
  policy: RetryPolicy;
  version: string;
  random: () => number;
}

/**
 * Checks the destination again at delivery time (a name may resolve elsewhere than at
 * creation) and returns the address to connect to, so the request goes where the check looked.
 * The same rules as at creation, whatever the settings (resolveHost knows when nothing can be
 * refused and pins nothing then).
 */
async function destination(deps: AttemptDeps, url: string): Promise<{ connectTo?: string } | { refused: string }> {
  const res = await resolveHost(new URL(url).hostname, destinationPolicy(deps.config.security), deps.resolver);
  if ("error" in res) return { refused: res.error.replace(/^url: /, "destination refused: ") };
  // Prefer IPv4 when the name has both: loopback-only test hosts and many networks lack v6.
  const address = res.addresses.find((a) => !a.includes(":")) ?? res.addresses[0];
  return address === undefined ? {} : { connectTo: address };
}

export async function runAttempt(deps: AttemptDeps, d: ClaimedDelivery, manual: boolean): Promise<AttemptOutcome> {
  const startedAt = deps.clock.now();
  const dest = await destination(deps, d.url);
  let result: SendResult;
  if ("refused" in dest) {
    result = { startedAt, durationMs: 0, statusCode: null, responseBody: null, error: dest.refused, retryAfter: null };
  } else {
    const headers = deliveryHeaders({
      customHeaders: d.headers,
      eventId: d.eventId,
      timestampSec: Math.floor(startedAt / 1000),
      body: d.payload,
      secrets: activeSecrets(d.secret, d.previousSecret, d.previousSecretExpiresAt, startedAt),
      ...(deps.config.signing.hex_header ? { hexHeader: deps.config.signing.hex_header } : {}),
      version: deps.version,
    });
    result = await deps.send({
      url: d.url,
      headers,
      body: d.payload,
      timeoutMs: deps.config.delivery.timeout,
      maxResponseBytes: deps.config.delivery.max_response_bytes,
      ...dest,
    });
  }
  const finishedAt = deps.clock.now();
  const attempt = {
    startedAt,
    durationMs: Math.round(result.durationMs),
    statusCode: result.statusCode,
    responseBody: result.responseBody,
    error: result.error,
  };
  const retryStartedAt = d.retryStartedAt ?? startedAt;
  const base: Omit<AttemptOutcome, "result" | "nextAttemptAt"> = { deliveryId: d.id, webhookId: d.webhookId, attempt, manual, retryStartedAt };
  // The claim's fencing token goes back with its outcome (a store for several replicas checks it).
  if (d.claimToken !== undefined) base.claimToken = d.claimToken;
  const outcome = classify(result, finishedAt);
  if (outcome.kind === "success") return { ...base, result: "succeeded", nextAttemptAt: null };
  if (outcome.kind === "gone") return { ...base, result: "gone", nextAttemptAt: null };
  const failedSoFar = d.attemptsCount + 1 - d.retryBase;
  const delay = nextRetryDelay(deps.policy, failedSoFar, startedAt - retryStartedAt, deps.random, outcome.retryAfterMs);
  if (delay === null) return { ...base, result: "failed", nextAttemptAt: null };
  return { ...base, result: "retry", nextAttemptAt: finishedAt + delay };
}
