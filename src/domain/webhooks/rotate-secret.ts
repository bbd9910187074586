import type { DomainDeps } from "../deps.ts";
import { ValidationError } from "../errors.ts";
import type { Principal } from "../principal.ts";
import { checkSecret, generateSecret } from "../secrets.ts";
import { loadWebhook } from "./read.ts";

/** New secret now; the old one keeps signing for `signing.rotation_overlap` (API.md §4). */
export async function rotateSecret(
  deps: Pick<DomainDeps, "store" | "clock" | "config">,
  principal: Principal,
  webhookId: string,
  input: { secret?: unknown },
): Promise<{ secret: string }> {
  if (input.secret !== undefined) {
    const problem = checkSecret(input.secret);
    if (problem) throw new ValidationError([`secret: ${problem}`]);
  }
  const w = await loadWebhook(deps, principal, webhookId);
  const secret = (input.secret as string | undefined) ?? generateSecret();
  const now = deps.clock.now();
  await deps.store.rotateSecret(w.id, secret, now + deps.config.signing.rotation_overlap, now);
  return { secret };
}
