import { useSession } from "../lib/session.tsx";

export function NotFound() {
  const { href } = useSession();
  return (
    <section>
      <h1>Not found</h1>
      <p>
        The console has no page here. <a href={href("/console")}>Back to the overview</a>.
      </p>
    </section>
  );
}
