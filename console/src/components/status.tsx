import type { Delivery, Webhook } from "../api/client.ts";

export function DeliveryStatus({ status }: { status: Delivery["status"] }) {
  return <span class={`badge status-${status}`}>{status}</span>;
}

/** Enabled, failing (deliveries that ran out of retries in a row) or disabled, with the reason. */
export function WebhookHealth({ webhook }: { webhook: Webhook }) {
  if (!webhook.enabled) {
    return (
      <span class="badge status-failed" title={webhook.disabled_reason ?? undefined}>
        disabled{webhook.disabled_reason ? `: ${webhook.disabled_reason}` : ""}
      </span>
    );
  }
  if (webhook.failure_count > 0) return <span class="badge status-pending">failing ({webhook.failure_count})</span>;
  return <span class="badge status-succeeded">healthy</span>;
}
