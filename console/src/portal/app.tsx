import { LocationProvider, Route, Router } from "preact-iso";
import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, makeClient, must } from "../api/client.ts";
import { principalOf } from "../api/principal.ts";
import { ErrorNote, Loading } from "../components/states.tsx";
import { accentVars } from "../lib/colour.ts";
import { useLoad } from "../lib/use-load.ts";
import { PortalDelivery } from "./delivery.tsx";
import { type PortalSession, PortalContext, usePortal } from "./session.ts";
import { forgetToken } from "./token.ts";
import { PortalWebhook } from "./webhook.tsx";
import { PortalWebhooks } from "./webhooks.tsx";

/**
 * The product's title and colour. The colour goes in through the CSSOM (a custom property on
 * the root element), which CSP style-src 'self' allows; a style attribute in the page would not be.
 */
function applyBranding(title: string, colour: string): void {
  document.title = title;
  const vars = accentVars(colour);
  if (!vars) return;
  const root = document.documentElement.style;
  root.setProperty("--accent", vars.accent);
  root.setProperty("--on-accent", vars.onAccent);
  root.setProperty("--accent-text", vars.accentText);
}

/** No token, or one the API refuses (401): expired, revoked, or never valid. */
export function LinkRefused({ missing }: { missing: boolean }) {
  useEffect(() => {
    document.title = missing ? "Open this page from your link" : "This link has expired";
  }, [missing]);
  return (
    <main id="main" class="refused">
      <h1>{missing ? "Open this page from your link" : "This link has expired or was revoked"}</h1>
      <p>{missing ? "This page opens from a portal link; it has none." : "For your security, portal links stop working after a while."}</p>
      <p>
        <strong>Ask for a new one</strong> where you got this link, then open it in this tab.
      </p>
    </main>
  );
}

function Pages() {
  return (
    <Router>
      <Route path="/portal" component={PortalWebhooks} />
      <Route path="/portal/webhooks/:id" component={PortalWebhook} />
      <Route path="/portal/deliveries/:id" component={PortalDelivery} />
      <Route default component={() => <p class="state empty">No such page. <a href="/portal">See your endpoints</a>.</p>} />
    </Router>
  );
}

function Layout() {
  const { branding, principal } = usePortal();
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/portal">
          {branding.portal_title}
        </a>
        <span class="who">{principal.admin ? "" : "Read only"}</span>
      </header>
      <main id="main" tabIndex={-1}>
        <Pages />
      </main>
    </>
  );
}

function Portal({ token }: { token: string }) {
  const [refused, setRefused] = useState(false);
  const api = useMemo(() => makeClient(token, () => setRefused(true)), [token]);
  const [load, retry] = useLoad(async (): Promise<PortalSession> => {
    const [whoami, branding] = await Promise.all([must(api.GET("/v1/whoami")), must(api.GET("/v1/portal/branding"))]);
    applyBranding(branding.portal_title, branding.accent_color);
    return { api, principal: principalOf(whoami), branding };
  }, [token]);
  useEffect(() => {
    if (refused) forgetToken();
  }, [refused]);
  if (refused || (load.state === "error" && load.error instanceof ApiError && load.error.status === 401)) return <LinkRefused missing={false} />;
  if (load.state === "loading") return <main id="main"><Loading what="your webhooks" /></main>;
  if (load.state === "error") return <main id="main"><ErrorNote error={load.error} retry={retry} /></main>;
  return (
    <PortalContext.Provider value={load.data}>
      <Layout />
    </PortalContext.Provider>
  );
}

export function PortalApp({ token }: { token: string | null }) {
  if (!token) return <LinkRefused missing />;
  return (
    <LocationProvider scope="/portal">
      <Portal token={token} />
    </LocationProvider>
  );
}
