import type { Webhook } from "../api/client.ts";
import { WebhookHealth } from "./status.tsx";

/**
 * The cells every list of webhooks starts with: the endpoint (a link to its page, the description
 * under it), the tenant when the viewer sees several, the event types and health. Each list adds
 * its own columns after them (the console's 24 h stats and id, the portal's added date).
 */
export function WebhookCells({ webhook: w, href, tenant = false }: { webhook: Webhook; href: string; tenant?: boolean }) {
  return (
    <>
      <td>
        <a href={href}>{w.url}</a>
        {w.description ? <div class="muted">{w.description}</div> : null}
      </td>
      {tenant ? <td>{w.tenant_id}</td> : null}
      <td>{w.events.join(", ")}</td>
      <td>
        <WebhookHealth webhook={w} />
      </td>
    </>
  );
}
