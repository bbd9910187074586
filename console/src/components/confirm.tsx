import { useState } from "preact/hooks";

/**
 * A two-step button for what cannot be undone (rotate, revoke, delete): the first press asks,
 * the second does it. Plain buttons, so the keyboard reaches both.
 */
export function ConfirmButton({ label, confirm, onConfirm, busy, danger }: { label: string; confirm: string; onConfirm: () => void; busy?: boolean; danger?: boolean }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" class={danger ? "danger" : ""} disabled={busy} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span class="confirm">
      <span>{confirm}</span>
      <button
        type="button"
        class={danger ? "danger" : "primary"}
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        Yes, {label.toLowerCase()}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
