import { useLocation } from "preact-iso";
import { useEffect, useState } from "preact/hooks";
import { useSession } from "../lib/session.tsx";

/**
 * A global credential's choice of tenant, kept in the URL (?tenant=) so a link opens on the same
 * tenant; empty means every tenant. Known tenants are suggested from the keys and webhooks lists.
 */
export function TenantPicker() {
  const { api, principal, tenant } = useSession();
  const location = useLocation();
  const [value, setValue] = useState(tenant ?? "");
  const [known, setKnown] = useState<string[]>([]);
  useEffect(() => setValue(tenant ?? ""), [tenant]);
  useEffect(() => {
    let live = true;
    (async () => {
      const seen = new Set<string>();
      const keys = principal.admin ? await api.GET("/v1/keys", { params: { query: { limit: "100" } } }) : null;
      for (const k of keys?.data?.data ?? []) if (k.tenant_id !== "*") seen.add(k.tenant_id);
      const hooks = await api.GET("/v1/webhooks", { params: { query: { limit: "100" } } });
      for (const w of hooks.data?.data ?? []) seen.add(w.tenant_id);
      if (live) setKnown([...seen].sort());
    })().catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api, principal.admin]);
  const go = (e: Event) => {
    e.preventDefault();
    const q = new URLSearchParams(location.query);
    const next = value.trim();
    if (next) q.set("tenant", next);
    else q.delete("tenant");
    const qs = q.toString();
    location.route(`${location.path}${qs ? `?${qs}` : ""}`);
  };
  return (
    <form class="tenant-picker" onSubmit={go}>
      <label for="tenant">Tenant</label>
      <input id="tenant" list="known-tenants" placeholder="all tenants" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      <datalist id="known-tenants">
        {known.map((t) => (
          <option key={t} value={t} />
        ))}
      </datalist>
      <button type="submit">Switch</button>
    </form>
  );
}
