import { LocationProvider, Route, Router, useLocation } from "preact-iso";
import { useMemo, useState } from "preact/hooks";
import { makeClient } from "./api/client.ts";
import { type Principal, probePrincipal } from "./api/principal.ts";
import { clearCredential, storeCredential, storedCredential } from "./api/session.ts";
import { Layout } from "./components/layout.tsx";
import { ErrorNote, Loading } from "./components/states.tsx";
import { withTenant } from "./lib/format.ts";
import { type Session, SessionContext } from "./lib/session.tsx";
import { useLoad } from "./lib/use-load.ts";
import { DeliveryPage } from "./pages/delivery.tsx";
import { EventPage } from "./pages/event.tsx";
import { EventTypesPage } from "./pages/event-types.tsx";
import { EventsPage } from "./pages/events.tsx";
import { KeysPage } from "./pages/keys.tsx";
import { NotFound } from "./pages/not-found.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { SignIn } from "./pages/sign-in.tsx";
import { WebhookPage } from "./pages/webhook.tsx";
import { WebhooksPage } from "./pages/webhooks.tsx";

function Pages() {
  return (
    <Router>
      <Route path="/console" component={OverviewPage} />
      <Route path="/console/webhooks" component={WebhooksPage} />
      <Route path="/console/webhooks/:id" component={WebhookPage} />
      <Route path="/console/deliveries/:id" component={DeliveryPage} />
      <Route path="/console/events" component={EventsPage} />
      <Route path="/console/events/:id" component={EventPage} />
      <Route path="/console/event-types" component={EventTypesPage} />
      <Route path="/console/keys" component={KeysPage} />
      <Route default component={NotFound} />
    </Router>
  );
}

function SignedIn({ credential, principal, signOut }: { credential: string; principal: Principal; signOut: () => void }) {
  const { query } = useLocation();
  const picked = principal.global ? (query.tenant ?? null) : principal.tenant;
  const session = useMemo<Session>(() => {
    const api = makeClient(credential);
    const urlTenant = principal.global ? picked : null;
    return {
      api,
      credential,
      principal,
      tenant: picked,
      tenantQuery: urlTenant ? { tenant: urlTenant } : {},
      href: (path) => withTenant(path, urlTenant),
      signOut,
    };
  }, [credential, principal, picked, signOut]);
  return (
    <SessionContext.Provider value={session}>
      <Layout>
        <Pages />
      </Layout>
    </SessionContext.Provider>
  );
}

/** A credential kept from before a reload is checked again; a refused one sends back to sign-in. */
function Resume({ credential, onReady, onRefused }: { credential: string; onReady: (p: Principal) => void; onRefused: (why: string) => void }) {
  const [load, retry] = useLoad(async () => {
    try {
      const p = await probePrincipal(makeClient(credential));
      onReady(p);
      return p;
    } catch (err) {
      if (err instanceof Error && "status" in err && err.status === 401) onRefused(err.message);
      throw err;
    }
  }, [credential]);
  if (load.state === "error") return <main id="main"><ErrorNote error={load.error} retry={retry} /></main>;
  return <main id="main"><Loading what="the console" /></main>;
}

function Shell() {
  const [credential, setCredential] = useState<string | null>(() => storedCredential());
  const [principal, setPrincipal] = useState<Principal | null>(null);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const signOut = useMemo(
    () => () => {
      clearCredential();
      setPrincipal(null);
      setCredential(null);
      setNotice("Signed out.");
    },
    [],
  );
  if (credential === null) {
    return (
      <SignIn
        {...(notice ? { notice } : {})}
        onSignedIn={(c, p) => {
          storeCredential(c);
          setCredential(c);
          setPrincipal(p);
          setNotice(undefined);
        }}
      />
    );
  }
  if (principal === null) {
    return (
      <Resume
        credential={credential}
        onReady={setPrincipal}
        onRefused={(why) => {
          clearCredential();
          setCredential(null);
          setNotice(why);
        }}
      />
    );
  }
  return <SignedIn credential={credential} principal={principal} signOut={signOut} />;
}

export function App() {
  return (
    <LocationProvider scope="/console">
      <Shell />
    </LocationProvider>
  );
}
