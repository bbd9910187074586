import { useLocation } from "preact-iso";
import { useState } from "preact/hooks";
import { must, type Webhook } from "../api/client.ts";
import { ConfirmButton } from "../components/confirm.tsx";
import { SecretOnce } from "../components/secret-once.tsx";
import { ErrorNote } from "../components/states.tsx";
import { isoToLocalInput, localInputToIso } from "../lib/time.ts";
import { useSession } from "../lib/session.tsx";

type Outcome = { kind: "done"; text: string; link?: string } | { kind: "error"; error: Error } | null;

/** Enable/disable, send a test, rotate the secret, recover since a time, delete (admins only). */
export function WebhookActions({ webhook, onChanged }: { webhook: Webhook; onChanged: () => void }) {
  const { api, href } = useSession();
  const location = useLocation();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [since, setSince] = useState(() => isoToLocalInput(Date.now() - 86_400_000));
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
  return (
    <section class="card" aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <div class="actions">
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            run(async () => {
              await must(api.PATCH("/v1/webhooks/{id}", { params: { path }, body: { enabled: !webhook.enabled } }));
              onChanged();
              return { kind: "done", text: webhook.enabled ? "Disabled." : "Enabled; its failure count starts again at 0." };
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
              return { kind: "done", text: `Test event sent as delivery ${sent.delivery_id}.`, link: href(`/console/deliveries/${sent.delivery_id}`) };
            })
          }
        >
          Send test event
        </button>
        <ConfirmButton
          label="Rotate secret"
          confirm="Rotate the signing secret? The old one keeps signing during the overlap."
          busy={busy}
          onConfirm={() =>
            run(async () => {
              const rotated = await must(api.POST("/v1/webhooks/{id}/rotate-secret", { params: { path }, body: {} }));
              setSecret(rotated.secret);
              return null;
            })
          }
        />
        <ConfirmButton
          label="Delete"
          danger
          confirm="Delete this webhook, cancel its pending deliveries and remove its history?"
          busy={busy}
          onConfirm={() =>
            run(async () => {
              await must(api.DELETE("/v1/webhooks/{id}", { params: { path } }));
              location.route(href("/console/webhooks"));
              return null;
            })
          }
        />
      </div>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          const iso = localInputToIso(since);
          if (!iso) return setOutcome({ kind: "error", error: new Error("Pick a date and time to recover from.") });
          run(async () => {
            const r = await must(api.POST("/v1/webhooks/{id}/recover", { params: { path }, body: { since: iso } }));
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
      {secret ? <SecretOnce label="New signing secret" value={secret} onDone={() => setSecret(null)} /> : null}
      {outcome?.kind === "done" ? (
        <p class="state ok" role="status">
          {outcome.text} {outcome.link ? <a href={outcome.link}>Open it</a> : null}
        </p>
      ) : null}
      {outcome?.kind === "error" ? <ErrorNote error={outcome.error} /> : null}
    </section>
  );
}
