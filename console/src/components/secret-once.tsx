import { CopyButton } from "./copy.tsx";

/** A secret or key the API shows only in this answer: kept in memory, gone on reload. */
export function SecretOnce({ label, value, onDone }: { label: string; value: string; onDone: () => void }) {
  return (
    <section class="secret-once" aria-label={label}>
      <p>
        <strong>{label}</strong> — shown once: copy it now, the API will not show it again.
      </p>
      <p class="secret-row">
        <code class="secret" data-testid="secret-value">
          {value}
        </code>
        <CopyButton value={value} label={label} />
      </p>
      <button type="button" onClick={onDone}>
        I have copied it
      </button>
    </section>
  );
}
