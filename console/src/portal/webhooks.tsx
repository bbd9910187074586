import { useState } from "preact/hooks";
import { must } from "../api/client.ts";
import { Id } from "../components/copy.tsx";
import { Pager, useCursorPages } from "../components/pager.tsx";
import { SecretOnce } from "../components/secret-once.tsx";
import { Empty, Loaded } from "../components/states.tsx";
import { WebhookHealth } from "../components/status.tsx";
import { Time } from "../components/time.tsx";
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
      <Loaded load={pages.load} what="your endpoints" retry={pages.reload}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No endpoints yet.{principal.admin ? " Add one to start receiving webhooks." : ""}</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Event types</th>
                  <th scope="col">Status</th>
                  <th scope="col">Added</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((w) => (
                  <tr key={w.id}>
                    <td>
                      <a href={`/portal/webhooks/${w.id}`}>{w.url}</a>
                      {w.description ? <div class="muted">{w.description}</div> : null}
                    </td>
                    <td>{w.events.join(", ")}</td>
                    <td>
                      <WebhookHealth webhook={w} />
                    </td>
                    <td>
                      <Time iso={w.created_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
      <Pager {...pages} />
    </section>
  );
}
