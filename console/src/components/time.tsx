import { timeText } from "../lib/time.ts";

/** A time in the viewer's zone; the UTC instant on hover (title) and in datetime. */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted">–</span>;
  const t = timeText(iso);
  if (!t) return <span>{iso}</span>;
  return (
    <time dateTime={iso} title={t.utc}>
      {t.local}
    </time>
  );
}
