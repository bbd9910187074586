import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Api } from "../api/client.ts";
import type { Principal } from "../api/principal.ts";

export interface Session {
  api: Api;
  credential: string;
  principal: Principal;
  /** The tenant a global credential picked (?tenant= in the URL), or the credential's own. */
  tenant: string | null;
  /** `?tenant=` for list reads of a global credential; nothing for a tenant one. */
  tenantQuery: { tenant?: string };
  /** A console path with the picked tenant kept. */
  href(path: string): string;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a signed-in console");
  return s;
}
