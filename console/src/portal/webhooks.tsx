import { useState } from "preact/hooks";
import { must } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { PagedTable, useCursorPages } from "../components/pager.tsx";
import { SecretOnce } from "../components/secret-once.tsx";
import { Time } from "../components/time.tsx";
import { WebhookCells } from "../components/webhook-row.tsx";
import { usePortal } from "./session.ts";
import { PortalWebhookForm } from "./webhook-form.tsx";

function AddWebhook({ onCreated }: { onCreated: () => void }) {
  const { api } = usePortal();
  const [open, setOpen] = useState(false);
  const [created, setCreated] = useState<{ id: string; secret: string } | null>(null);
  if (created) {
    return (
      <section class="card" aria-label="Webhook added">
        <p class="state ok" role="status">
          Endpoint added: <Id id={created.id} href={`/portal/webhooks/${created.id}`} />
        </p>
        <p>Your endpoint verifies each delivery's signature with this secret.</p>
        <SecretOnce label="Signing secret" value={created.secret} onDone={() => setCreated(null)} />
      </section>
    );
  }
  if (!open) {
    return (
      <button type="button" class="primary" onClick={() => setOpen(true)}>
        Add an endpoint
      </button>
    );
  }
  return (
    <section class="card" aria-labelledby="new-webhook">
      <h2 id="new-webhook">New endpoint</h2>
      <PortalWebhookForm
        idPrefix="new"
        submitLabel="Add endpoint"
        initial={{ url: "", events: [], description: "" }}
        onCancel={() => setOpen(false)}
        onSubmit={async (f) => {
          const made = await must(api.POST("/v1/webhooks", { body: f }));
          setOpen(false);
          setCreated({ id: made.id, secret: made.secret });
          onCreated();
        }}
      />
    </section>
  );
}

/** The tenant's webhooks (the token sees its own tenant's only), and adding one. */
export function PortalWebhooks() {
  const { api, principal } = usePortal();
  const pages = useCursorPages((cursor) => must(api.GET("/v1/webhooks", { params: { query: { limit: "20", ...(cursor ? { cursor } : {}) } } })), []);
  return (
    <section>
      <h1>Endpoints</h1>
      <p class="muted">Where we send your webhooks: each endpoint receives the event types it subscribes to, signed with its own secret.</p>
      {principal.admin ? <AddWebhook onCreated={pages.reload} /> : null}
      <PagedTable
        pages={pages}
        what="your endpoints"
        empty={`No endpoints yet.${principal.admin ? " Add one to start receiving webhooks." : ""}`}
        head={
          <>
            <th scope="col">Endpoint</th>
            <th scope="col">Event types</th>
            <th scope="col">Status</th>
            <th scope="col">Added</th>
          </>
        }
        row={(w) => (
          <tr key={w.id}>
            <WebhookCells webhook={w} href={`/portal/webhooks/${w.id}`} />
            <td>
              <Time iso={w.created_at} />
            </td>
          </tr>
        )}
      />
    </section>
  );
}
