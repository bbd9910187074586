import { useState } from "preact/hooks";
import { must, type Webhook } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { PagedTable, useCursorPages } from "../components/pager.tsx";
import { SecretOnce } from "../components/secret-once.tsx";
import { Time } from "../components/time.tsx";
import { WebhookForm } from "../components/webhook-form.tsx";
import { WebhookCells } from "../components/webhook-row.tsx";
import { millis, percent } from "../lib/format.ts";
import { useSession } from "../lib/session.tsx";
import { useLoad } from "../lib/use-load.ts";

/** Success rate, p95 and failing-since over 24 h (GET /v1/webhooks/{id}/stats), per row. */
function HealthCells({ webhook }: { webhook: Webhook }) {
  const { api } = useSession();
  const [load] = useLoad(() => must(api.GET("/v1/webhooks/{id}/stats", { params: { path: { id: webhook.id }, query: { window: "24h" } } })), [webhook.id]);
  if (load.state !== "ready") {
    return (
      <td colSpan={3} class="muted">
        {load.state === "loading" ? "…" : "stats unavailable"}
      </td>
    );
  }
  const s = load.data;
  return (
    <>
      <td>{percent(s.success_rate)}</td>
      <td>{millis(s.latency_ms.p95)}</td>
      <td>{s.failing_since ? <Time iso={s.failing_since} /> : "–"}</td>
    </>
  );
}

function CreateWebhook({ onCreated }: { onCreated: () => void }) {
  const { api, principal, tenant } = useSession();
  const [secret, setSecret] = useState<{ id: string; secret: string } | null>(null);
  const [open, setOpen] = useState(false);
  if (secret) {
    return (
      <>
        <p>
          Webhook <Id id={secret.id} /> created.
        </p>
        <SecretOnce label="Signing secret" value={secret.secret} onDone={() => setSecret(null)} />
      </>
    );
  }
  if (!open) {
    return (
      <button type="button" class="primary" onClick={() => setOpen(true)}>
        Add a webhook
      </button>
    );
  }
  if (principal.global && !tenant) return <p class="state empty">Pick a tenant above to add a webhook to it.</p>;
  return (
    <section class="card" aria-labelledby="new-webhook">
      <h2 id="new-webhook">New webhook</h2>
      <WebhookForm
        idPrefix="new"
        submitLabel="Create webhook"
        initial={{ url: "", events: [], description: "" }}
        onSubmit={async (f) => {
          const body = { ...f, ...(principal.global && tenant ? { tenant_id: tenant } : {}) };
          const created = await must(api.POST("/v1/webhooks", { body }));
          setOpen(false);
          setSecret({ id: created.id, secret: created.secret });
          onCreated();
        }}
      />
    </section>
  );
}

export function WebhooksPage() {
  const { api, principal, tenantQuery, href } = useSession();
  const pages = useCursorPages((cursor) => must(api.GET("/v1/webhooks", { params: { query: { limit: "20", ...tenantQuery, ...(cursor ? { cursor } : {}) } } })), [tenantQuery.tenant]);
  return (
    <section>
      <h1>Webhooks</h1>
      {principal.admin ? <CreateWebhook onCreated={pages.reload} /> : null}
      <PagedTable
        pages={pages}
        what="webhooks"
        empty="No webhooks yet."
        head={
          <>
            <th scope="col">Endpoint</th>
            {principal.global ? <th scope="col">Tenant</th> : null}
            <th scope="col">Events</th>
            <th scope="col">Health</th>
            <th scope="col">Success (24 h)</th>
            <th scope="col">p95</th>
            <th scope="col">Failing since</th>
            <th scope="col">Id</th>
          </>
        }
        row={(w) => (
          <tr key={w.id}>
            <WebhookCells webhook={w} href={href(`/console/webhooks/${w.id}`)} tenant={principal.global} />
            <HealthCells webhook={w} />
            <td>
              <Id id={w.id} />
            </td>
          </tr>
        )}
      />
    </section>
  );
}
