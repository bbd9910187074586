/** The token a portal link's fragment ("#token=hkp_…") carries, or null. */
export function tokenInFragment(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const token = params.get("token")?.trim();
  return token ? token : null;
}
