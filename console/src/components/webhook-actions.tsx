import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { type Api, must, type Webhook } from "../api/client.ts";
import { ConfirmButton } from "./confirm.tsx";
import { SecretOnce } from "./secret-once.tsx";
import { ErrorNote } from "./states.tsx";

export type Outcome = { kind: "done"; text: string; link?: string } | { kind: "error"; error: Error } | null;

/** One action at a time: `run` it (its outcome, or its error, shown under the card), or `fail` before it starts. */
export interface ActionRunner {
  busy: boolean;
  run: (what: () => Promise<Outcome>) => void;
  fail: (error: Error) => void;
}

/** What the card says: the console speaks to operators, the portal to the tenant's own people. */
export interface ActionWords {
  disabled: string;
  enabled: string;
  tested: (deliveryId: string) => string;
  openDelivery: string;
  rotateConfirm: string;
  deleteConfirm: string;
}

/**
 * Enable/disable, send a test, rotate the secret (shown once), delete — for admins; the console's
 * webhook page and the portal's endpoint page share it. `first` goes before those buttons, `after`
 * below them (the portal's Edit, the console's Recover form), both with the same runner.
 */
export function WebhookActionsCard(props: {
  api: Api;
  webhook: Webhook;
  onChanged: () => void;
  onDeleted: () => void;
  deliveryHref: (id: string) => string;
  words: ActionWords;
  first?: (runner: ActionRunner) => ComponentChildren;
  after?: (runner: ActionRunner) => ComponentChildren;
}) {
  const { api, webhook, onChanged, words } = props;
  const [busy, setBusy] = useState(false);
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
  const runner: ActionRunner = { busy, run, fail: (error) => setOutcome({ kind: "error", error }) };
  return (
    <section class="card" aria-labelledby="actions-title">
      <h2 id="actions-title">Actions</h2>
      <div class="actions">
        {props.first?.(runner)}
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            run(async () => {
              await must(api.PATCH("/v1/webhooks/{id}", { params: { path }, body: { enabled: !webhook.enabled } }));
              onChanged();
              return { kind: "done", text: webhook.enabled ? words.disabled : words.enabled };
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
              return { kind: "done", text: words.tested(sent.delivery_id), link: props.deliveryHref(sent.delivery_id) };
            })
          }
        >
          Send test event
        </button>
        <ConfirmButton
          label="Rotate secret"
          confirm={words.rotateConfirm}
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
          confirm={words.deleteConfirm}
          busy={busy}
          onConfirm={() =>
            run(async () => {
              await must(api.DELETE("/v1/webhooks/{id}", { params: { path } }));
              props.onDeleted();
              return null;
            })
          }
        />
      </div>
      {props.after?.(runner)}
      {secret ? <SecretOnce label="New signing secret" value={secret} onDone={() => setSecret(null)} /> : null}
      {outcome?.kind === "done" ? (
        <p class="state ok" role="status">
          {outcome.text} {outcome.link ? <a href={outcome.link}>{words.openDelivery}</a> : null}
        </p>
      ) : null}
      {outcome?.kind === "error" ? <ErrorNote error={outcome.error} /> : null}
    </section>
  );
}
