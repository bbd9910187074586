import { useLocation } from "preact-iso";
import { useState } from "preact/hooks";
import { must, type Webhook } from "../api/client.ts";
import { type ActionWords, WebhookActionsCard } from "../components/webhook-actions.tsx";
import { isoToLocalInput, localInputToIso } from "../lib/time.ts";
import { useSession } from "../lib/session.tsx";

const WORDS: ActionWords = {
  disabled: "Disabled.",
  enabled: "Enabled; its failure count starts again at 0.",
  tested: (id) => `Test event sent as delivery ${id}.`,
  openDelivery: "Open it",
  rotateConfirm: "Rotate the signing secret? The old one keeps signing during the overlap.",
  deleteConfirm: "Delete this webhook, cancel its pending deliveries and remove its history?",
};

/** Enable/disable, send a test, rotate the secret, recover since a time, delete (admins only). */
export function WebhookActions({ webhook, onChanged }: { webhook: Webhook; onChanged: () => void }) {
  const { api, href } = useSession();
  const location = useLocation();
  const [since, setSince] = useState(() => isoToLocalInput(Date.now() - 86_400_000));
  return (
    <WebhookActionsCard
      api={api}
      webhook={webhook}
      onChanged={onChanged}
      onDeleted={() => location.route(href("/console/webhooks"))}
      deliveryHref={(id) => href(`/console/deliveries/${id}`)}
      words={WORDS}
      after={({ busy, run, fail }) => (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            const iso = localInputToIso(since);
            if (!iso) return fail(new Error("Pick a date and time to recover from."));
            run(async () => {
              const r = await must(api.POST("/v1/webhooks/{id}/recover", { params: { path: { id: webhook.id } }, body: { since: iso } }));
              onChanged();
              return { kind: "done", text: `${r.requeued} failed ${r.requeued === 1 ? "delivery" : "deliveries"} scheduled again.` };
            });
          }}
        >
          <label for="recover-since">Recover failed deliveries since</label>
          <input id="recover-since" type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
          <button type="submit" disabled={busy}>
            Recover
          </button>
        </form>
      )}
    />
  );
}
