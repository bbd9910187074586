// The credential lives in this tab's sessionStorage only (API.md §12): never a cookie, the URL
// or localStorage, so it dies with the tab and no other tab or later visit inherits it.
const SLOT = "hookline.console.credential";

export function storedCredential(): string | null {
  try {
    return sessionStorage.getItem(SLOT);
  } catch {
    return null;
  }
}

export function storeCredential(credential: string): void {
  sessionStorage.setItem(SLOT, credential);
}

export function clearCredential(): void {
  sessionStorage.removeItem(SLOT);
}
