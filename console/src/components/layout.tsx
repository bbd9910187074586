import type { ComponentChildren } from "preact";
import { useLocation } from "preact-iso";
import { useSession } from "../lib/session.tsx";
import { TenantPicker } from "./tenant-picker.tsx";

const NAV: { path: string; label: string; admin?: boolean }[] = [
  { path: "/console", label: "Overview" },
  { path: "/console/webhooks", label: "Webhooks" },
  { path: "/console/events", label: "Events" },
  { path: "/console/event-types", label: "Event types" },
  { path: "/console/keys", label: "Keys", admin: true },
];

function current(path: string, item: string): boolean {
  return item === "/console" ? path === "/console" || path === "/console/" : path === item || path.startsWith(`${item}/`);
}

export function Layout({ children }: { children: ComponentChildren }) {
  const { principal, tenant, href, signOut } = useSession();
  const { path } = useLocation();
  const who = `${principal.global ? "global" : (tenant ?? "tenant")} · ${principal.role}`;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Hookline</span>
        <nav aria-label="Console">
          {NAV.filter((n) => !n.admin || principal.admin).map((n) => (
            <a key={n.path} href={href(n.path)} aria-current={current(path, n.path) ? "page" : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        {principal.global ? <TenantPicker /> : null}
        <span class="who" title="The signed-in credential">
          {who}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
