import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Api, PortalBranding } from "../api/client.ts";
import type { Principal } from "../api/principal.ts";

export interface PortalSession {
  api: Api;
  /** The link's token: its tenant, its role (a viewer link sees no action), its expiry. */
  principal: Principal;
  branding: PortalBranding;
}

export const PortalContext = createContext<PortalSession | null>(null);

export function usePortal(): PortalSession {
  const s = useContext(PortalContext);
  if (!s) throw new Error("usePortal outside the portal");
  return s;
}
