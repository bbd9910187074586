import { useLocation } from "preact-iso";
import { useState } from "preact/hooks";
import { must, type Webhook } from "../api/client.ts";
import { ConfirmButton } from "../components/confirm.tsx";
import { Id } from "../components/copy.tsx";
import { ReplayCard } from "../components/replay.tsx";
import { SecretOnce } from "../components/secret-once.tsx";
import { ErrorNote, Loaded } from "../components/states.tsx";
import { WebhookHealth } from "../components/status.tsx";
import { Time } from "../components/time.tsx";
import { useLoad } from "../lib/use-load.ts";
import { WebhookDeliveries } from "../pages/webhook-deliveries.tsx";
import { usePortal } from "./session.ts";
import { PortalWebhookForm } from "./webhook-form.tsx";

type Outcome = { kind: "done"; text: string; link?: string } | { kind: "error"; error: Error } | null;

/** Edit, enable/disable, send a test, rotate the secret (shown once), delete — for admin links. */
function Actions({ webhook, onChanged }: { webhook: Webhook; onChanged: () => void }) {
  const { api } = usePortal();
  const location = useLocation();
  const [busy, setBusy] = useState(false);
  const [editing, setEditing] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const path = { id: webhook.id };
  const run = async (what: () => Promise<Outcome>) => {
    setBusy(true);
    setOutcome(null);
    try {
      setOutcome(await what());
    } catch (err) {
      setOutcome({ kind: "error", error: err instanceof Error ? err : new Error(String(err)) });
    } finally {
      setBusy(false);
    }
  };
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
            await must(api.PATCH("/v1/webhooks/{id}", { params: { path }, body: f }));
            setEditing(false);
            onChanged();
          }}
        />
      </section>
    );
  }
  return (
    <section class="card" aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => setEditing(true)}>
          Edit
        </button>
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            run(async () => {
              await must(api.PATCH("/v1/webhooks/{id}", { params: { path }, body: { enabled: !webhook.enabled } }));
              onChanged();
              return { kind: "done", text: webhook.enabled ? "Disabled: nothing is sent to it until you enable it." : "Enabled." };
            })
          }
        >
          {webhook.enabled ? "Disable" : "Enable"}
        </button>
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            run(async () => {
              const sent = await must(api.POST("/v1/webhooks/{id}/test", { params: { path } }));
              onChanged();
              return { kind: "done", text: "A test event is on its way.", link: `/portal/deliveries/${sent.delivery_id}` };
            })
          }
        >
          Send test event
        </button>
        <ConfirmButton
          label="Rotate secret"
          confirm="Make a new signing secret? The old one keeps signing for a while, so you can switch."
          busy={busy}
          onConfirm={() =>
            run(async () => {
              setSecret((await must(api.POST("/v1/webhooks/{id}/rotate-secret", { params: { path }, body: {} }))).secret);
              return null;
            })
          }
        />
        <ConfirmButton
          label="Delete"
          danger
          confirm="Delete this endpoint and its delivery history?"
          busy={busy}
          onConfirm={() =>
            run(async () => {
              await must(api.DELETE("/v1/webhooks/{id}", { params: { path } }));
              location.route("/portal");
              return null;
            })
          }
        />
      </div>
      {secret ? <SecretOnce label="New signing secret" value={secret} onDone={() => setSecret(null)} /> : null}
      {outcome?.kind === "done" ? (
        <p class="state ok" role="status">
          {outcome.text} {outcome.link ? <a href={outcome.link}>See the delivery</a> : null}
        </p>
      ) : null}
      {outcome?.kind === "error" ? <ErrorNote error={outcome.error} /> : null}
    </section>
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
