import { toIso } from "../clock.ts";
import type { WebhookRecord } from "../store.ts";
import { maskHeaders } from "./secret-headers.ts";

export interface WebhookView {
  id: string;
  tenant_id: string;
  url: string;
  events: string[];
  description: string;
  enabled: boolean;
  headers: Record<string, string>;
  failure_count: number;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

/** The public shape: never the secret, and secret header values masked (secret-headers.ts). */
export function renderWebhook(w: WebhookRecord): WebhookView {
  return {
    id: w.id,
    tenant_id: w.tenantId,
    url: w.url,
    events: w.events,
    description: w.description,
    enabled: w.enabled,
    headers: maskHeaders(w.headers),
    failure_count: w.failureCount,
    disabled_reason: w.disabledReason,
    created_at: toIso(w.createdAt),
    updated_at: toIso(w.updatedAt),
  };
}

/** Why a disabled webhook's pending deliveries failed, as their `last_error` says. */
export function disabledError(reason: string): string {
  return `webhook disabled (${reason})`;
}
