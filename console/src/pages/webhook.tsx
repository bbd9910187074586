import { useState } from "preact/hooks";
import { must } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { ReplayCard } from "../components/replay.tsx";
import { Loaded } from "../components/states.tsx";
import { WebhookHealth } from "../components/status.tsx";
import { Time } from "../components/time.tsx";
import { WebhookForm } from "../components/webhook-form.tsx";
import { millis, percent } from "../lib/format.ts";
import { useSession } from "../lib/session.tsx";
import { useLoad } from "../lib/use-load.ts";
import { WebhookActions } from "./webhook-actions.tsx";
import { WebhookDeliveries } from "./webhook-deliveries.tsx";

export function WebhookPage({ id }: { id: string }) {
  const { api, principal, href } = useSession();
  const [round, setRound] = useState(0);
  const [editing, setEditing] = useState(false);
  const [load, reload] = useLoad(async () => {
    const path = { id };
    const [webhook, stats] = await Promise.all([
      must(api.GET("/v1/webhooks/{id}", { params: { path } })),
      must(api.GET("/v1/webhooks/{id}/stats", { params: { path, query: { window: "24h" } } })),
    ]);
    return { webhook, stats };
  }, [id]);
  const changed = () => {
    setRound((r) => r + 1);
    reload();
  };
  return (
    <section>
      <Loaded load={load} what="the webhook" retry={reload}>
        {({ webhook: w, stats: s }) => (
          <>
            <h1>
              Webhook <span class="muted">{w.url}</span>
            </h1>
            <dl class="facts">
              <dt>Id</dt>
              <dd><Id id={w.id} /></dd>
              <dt>Tenant</dt>
              <dd>{w.tenant_id}</dd>
              <dt>Health</dt>
              <dd><WebhookHealth webhook={w} /></dd>
              <dt>Events</dt>
              <dd>{w.events.join(", ")}</dd>
              <dt>Description</dt>
              <dd>{w.description || <span class="muted">–</span>}</dd>
              <dt>Success rate (24 h)</dt>
              <dd>{percent(s.success_rate)} of {s.attempts} attempts</dd>
              <dt>Latency (24 h)</dt>
              <dd>p50 {millis(s.latency_ms.p50)} · p95 {millis(s.latency_ms.p95)}</dd>
              <dt>Failing since</dt>
              <dd><Time iso={s.failing_since} /></dd>
              <dt>Oldest pending</dt>
              <dd><Time iso={s.oldest_pending_at} /></dd>
              <dt>Custom headers</dt>
              <dd>{Object.keys(w.headers).length === 0 ? <span class="muted">none</span> : Object.entries(w.headers).map(([k, v]) => <div key={k}><code>{k}: {v}</code></div>)}</dd>
              <dt>Created</dt>
              <dd><Time iso={w.created_at} /></dd>
            </dl>
            {principal.admin ? (
              <>
                {editing ? (
                  <section class="card" aria-labelledby="edit-title">
                    <h2 id="edit-title">Edit</h2>
                    <WebhookForm
                      idPrefix="edit"
                      submitLabel="Save changes"
                      initial={{ url: w.url, events: w.events, description: w.description }}
                      onSubmit={async (f) => {
                        await must(api.PATCH("/v1/webhooks/{id}", { params: { path: { id } }, body: f }));
                        setEditing(false);
                        changed();
                      }}
                    />
                    <button type="button" onClick={() => setEditing(false)}>
                      Cancel
                    </button>
                  </section>
                ) : (
                  <button type="button" onClick={() => setEditing(true)}>
                    Edit
                  </button>
                )}
                <WebhookActions webhook={w} onChanged={changed} />
                <ReplayCard api={api} webhook={w} onFinished={changed} />
              </>
            ) : null}
          </>
        )}
      </Loaded>
      <WebhookDeliveries api={api} webhookId={id} round={round} deliveryHref={(d) => href(`/console/deliveries/${d}`)} />
    </section>
  );
}
