import { useLocation } from "preact-iso";
import { useState } from "preact/hooks";
import { must, type Webhook } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { ReplayCard } from "../components/replay.tsx";
import { Loaded } from "../components/states.tsx";
import { WebhookHealth } from "../components/status.tsx";
import { Time } from "../components/time.tsx";
import { type ActionWords, WebhookActionsCard } from "../components/webhook-actions.tsx";
import { useLoad } from "../lib/use-load.ts";
import { WebhookDeliveries } from "../pages/webhook-deliveries.tsx";
import { usePortal } from "./session.ts";
import { PortalWebhookForm } from "./webhook-form.tsx";

const WORDS: ActionWords = {
  disabled: "Disabled: nothing is sent to it until you enable it.",
  enabled: "Enabled.",
  tested: () => "A test event is on its way.",
  openDelivery: "See the delivery",
  rotateConfirm: "Make a new signing secret? The old one keeps signing for a while, so you can switch.",
  deleteConfirm: "Delete this endpoint and its delivery history?",
};

/** Edit, enable/disable, send a test, rotate the secret (shown once), delete — for admin links. */
function Actions({ webhook, onChanged }: { webhook: Webhook; onChanged: () => void }) {
  const { api } = usePortal();
  const location = useLocation();
  const [editing, setEditing] = useState(false);
  if (editing) {
    return (
      <section class="card" aria-labelledby="edit-title">
        <h2 id="edit-title">Edit endpoint</h2>
        <PortalWebhookForm
          idPrefix="edit"
          submitLabel="Save changes"
          initial={{ url: webhook.url, events: webhook.events, description: webhook.description }}
          onCancel={() => setEditing(false)}
          onSubmit={async (f) => {
            await must(api.PATCH("/v1/webhooks/{id}", { params: { path: { id: webhook.id } }, body: f }));
            setEditing(false);
            onChanged();
          }}
        />
      </section>
    );
  }
  return (
    <WebhookActionsCard
      api={api}
      webhook={webhook}
      onChanged={onChanged}
      onDeleted={() => location.route("/portal")}
      deliveryHref={(id) => `/portal/deliveries/${id}`}
      words={WORDS}
      first={({ busy }) => (
        <button type="button" disabled={busy} onClick={() => setEditing(true)}>
          Edit
        </button>
      )}
    />
  );
}

export function PortalWebhook({ id }: { id: string }) {
  const { api, principal } = usePortal();
  const [round, setRound] = useState(0);
  const [load, reload] = useLoad(() => must(api.GET("/v1/webhooks/{id}", { params: { path: { id } } })), [id]);
  const changed = () => {
    setRound((r) => r + 1);
    reload();
  };
  return (
    <section>
      <p>
        <a href="/portal">← All endpoints</a>
      </p>
      <Loaded load={load} what="the endpoint" retry={reload}>
        {(w) => (
          <>
            <h1>
              Endpoint <span class="muted">{w.url}</span>
            </h1>
            <dl class="facts">
              <dt>Id</dt>
              <dd><Id id={w.id} /></dd>
              <dt>Status</dt>
              <dd><WebhookHealth webhook={w} /></dd>
              <dt>Event types</dt>
              <dd>{w.events.join(", ")}</dd>
              <dt>Description</dt>
              <dd>{w.description || <span class="muted">–</span>}</dd>
              <dt>Added</dt>
              <dd><Time iso={w.created_at} /></dd>
            </dl>
            {principal.admin ? (
              <>
                <Actions webhook={w} onChanged={changed} />
                <ReplayCard api={api} webhook={w} onFinished={changed} noun="endpoint" />
              </>
            ) : null}
          </>
        )}
      </Loaded>
      <WebhookDeliveries api={api} webhookId={id} round={round} deliveryHref={(d) => `/portal/deliveries/${d}`} />
    </section>
  );
}
