// A portal link is <public url>/portal#token=hkp_…: the fragment never reaches a server, a proxy
// or a Referer. The page takes the token out of it at once and keeps it in this tab's
// sessionStorage only (never a cookie or localStorage), and replaces the address — history
// entry included — with one without it, so it is in no URL the user can copy, bookmark or share.
import { tokenInFragment } from "../lib/fragment.ts";

const SLOT = "hookline.portal.token";

/**
 * The token of this tab: a new link's (which replaces what the tab held, and leaves the address
 * bar) or the one kept from before a reload.
 */
export function takeToken(): string | null {
  const fresh = tokenInFragment(location.hash);
  if (fresh) {
    try {
      sessionStorage.setItem(SLOT, fresh);
    } catch {
      // Storage refused (a sandboxed frame): the token lives in memory for this page only.
    }
    history.replaceState(history.state, "", `${location.pathname}${location.search}`);
    return fresh;
  }
  try {
    return sessionStorage.getItem(SLOT);
  } catch {
    return null;
  }
}

export function forgetToken(): void {
  try {
    sessionStorage.removeItem(SLOT);
  } catch {
    // Nothing was kept.
  }
}
