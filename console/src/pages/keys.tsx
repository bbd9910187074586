import { useState } from "preact/hooks";
import { must } from "../api/client.ts";
import { ConfirmButton } from "../components/confirm.tsx";
import { Id } from "../components/copy.tsx";
import { PagedTable, useCursorPages } from "../components/pager.tsx";
import { SecretOnce } from "../components/secret-once.tsx";
import { Empty, ErrorNote } from "../components/states.tsx";
import { Time } from "../components/time.tsx";
import { useSession } from "../lib/session.tsx";

const ROLES = ["viewer", "publisher", "admin"] as const;

function CreateKey({ onCreated }: { onCreated: () => void }) {
  const { api, principal, tenant } = useSession();
  const [name, setName] = useState("");
  const [role, setRole] = useState<(typeof ROLES)[number]>("viewer");
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  if (created) return <SecretOnce label="New API key" value={created} onDone={() => setCreated(null)} />;
  if (principal.global && !tenant) return <p class="state empty">Pick a tenant above to create a key in it.</p>;
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const body = { name, role, ...(principal.global && tenant ? { tenant_id: tenant } : {}) };
      const key = await must(api.POST("/v1/keys", { body }));
      setCreated(key.key);
      setName("");
      onCreated();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <form class="inline card" onSubmit={submit} aria-label="New API key">
      <label for="key-name">Name</label>
      <input id="key-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <label for="key-role">Role</label>
      <select id="key-role" value={role} onChange={(e) => setRole(e.currentTarget.value as (typeof ROLES)[number])}>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      <button type="submit" class="primary">
        Create key
      </button>
      {error ? <ErrorNote error={error} /> : null}
    </form>
  );
}

export function KeysPage() {
  const { api, principal, tenantQuery } = useSession();
  const [revokeError, setRevokeError] = useState<Error | null>(null);
  const pages = useCursorPages((cursor) => must(api.GET("/v1/keys", { params: { query: { limit: "50", ...tenantQuery, ...(cursor ? { cursor } : {}) } } })), [tenantQuery.tenant]);
  if (!principal.admin) return <Empty>Only admins manage keys.</Empty>;
  const revoke = async (id: string) => {
    setRevokeError(null);
    try {
      await must(api.DELETE("/v1/keys/{id}", { params: { path: { id } } }));
      pages.reload();
    } catch (err) {
      setRevokeError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <section>
      <h1>API keys</h1>
      <CreateKey onCreated={pages.reload} />
      {revokeError ? <ErrorNote error={revokeError} /> : null}
      <PagedTable
        pages={pages}
        what="keys"
        empty="No keys."
        head={
          <>
            <th scope="col">Name</th>
            <th scope="col">Tenant</th>
            <th scope="col">Role</th>
            <th scope="col">Prefix</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Id</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </>
        }
        row={(k) => (
          <tr key={k.id}>
            <td>
              {k.name || <span class="muted">unnamed</span>}
              {principal.id === k.id ? <span class="badge"> this key</span> : null}
            </td>
            <td>{k.tenant_id}</td>
            <td>{k.role}</td>
            <td>
              <code>{k.prefix}…</code>
            </td>
            <td><Time iso={k.created_at} /></td>
            <td>{k.expires_at ? <Time iso={k.expires_at} /> : "never"}</td>
            <td><Id id={k.id} /></td>
            <td>
              <ConfirmButton label="Revoke" danger confirm={`Revoke ${k.name || k.id}?`} onConfirm={() => revoke(k.id)} />
            </td>
          </tr>
        )}
      />
    </section>
  );
}
