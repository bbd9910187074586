import { useState } from "preact/hooks";

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** A real button that copies `value`; says so in a polite live region. */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [said, setSaid] = useState("");
  return (
    <span class="copy">
      <button
        type="button"
        class="small"
        aria-label={`Copy ${label}`}
        onClick={async () => setSaid((await copyText(value)) ? "Copied" : "Select and copy by hand")}
      >
        Copy
      </button>
      <span class="copied" aria-live="polite">
        {said}
      </span>
    </span>
  );
}

/** An id in monospace with a copy button, optionally a link. */
export function Id({ id, href }: { id: string; href?: string }) {
  return (
    <span class="id">
      {href ? <a href={href}><code>{id}</code></a> : <code>{id}</code>}
      <CopyButton value={id} label={id} />
    </span>
  );
}
