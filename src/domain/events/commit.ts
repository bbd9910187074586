import type { DomainDeps } from "../deps.ts";
import type { CommittedWork } from "../dispatcher-port.ts";
import type { IngestRequest, IngestResult } from "../store.ts";

/**
 * The one path from an ingest to the dispatcher, for published events and the test endpoint
 * alike: the ingest claims what the dispatcher has room for inside its own transaction (its
 * claim hook), and once committed the new deliveries are handed over — first, before anything
 * else can await, so that nothing can keep the slots they reserved. Replays and conflicts
 * created nothing and hand over nothing.
 */
export async function commitAndHandOff(
  deps: Pick<DomainDeps, "store" | "dispatch">,
  request: Omit<IngestRequest, "claim">,
  origin: CommittedWork["origin"],
): Promise<IngestResult> {
  const res = await deps.store.ingest({ ...request, claim: deps.dispatch.claimHook() });
  if (res.kind === "created") deps.dispatch.committed({ origin, deliveries: res.deliveries });
  return res;
}
