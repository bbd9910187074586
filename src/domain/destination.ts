// Webhook destination checks (API.md §4 and §10 "URLs").
//
// A webhook URL makes Hookline send requests on behalf of a tenant, so an unchecked URL is an
// SSRF vector into the appliance's own network. Every check here fails closed: anything we cannot
// parse or classify is treated as private.
import dns from "node:dns";
import ipaddr from "ipaddr.js";

/** Resolves a host name to IP address strings (v4 and v6). Injectable so tests need no DNS. */
export type Resolver = (hostname: string) => Promise<string[]>;

export interface DestinationPolicy extends AddressRules {
  allowHttp: boolean;
}

const MAX_URL_LENGTH = 2083;
const DNS_TIMEOUT_MS = 5_000;
const PRIVATE_HINT = "set security.allow_private_networks to allow it";
const HTTP_HINT = "set security.allow_http to allow http";

function httpsError(protocol: string): string {
  return protocol === "http:" ? `url: must use https; ${HTTP_HINT}` : "url: must use https";
}

/** A lookup that cannot hang a request: getaddrinfo has no timeout of its own. */
export const systemResolver: Resolver = async (hostname) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(Object.assign(new Error(`DNS lookup of ${hostname} timed out`), { code: "ETIMEOUT" }));
    }, DNS_TIMEOUT_MS);
  });
  try {
    // verbatim: keep the resolver's order and every family; all addresses get checked anyway.
    const found = await Promise.race([
      dns.promises.lookup(hostname, { all: true, verbatim: true }),
      timeout,
    ]);
    return found.map((entry) => entry.address);
  } finally {
    clearTimeout(timer);
  }
};

// Explicit ranges where ipaddr.js names are too coarse or too loose.
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");
// Only the well-known NAT64 /96 is translated to public v4; its neighbour 64:ff9b:1::/48 is
// local-use (RFC 8215) and is refused by the "not in 2000::/3" rule below.
const NAT64_WELL_KNOWN = ipaddr.parseCIDR("64:ff9b::/96");

function v4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function isPrivateV4(ip: ipaddr.IPv4): boolean {
  // ipaddr.js names every special-purpose v4 block (private, loopback, linkLocal,
  // carrierGradeNat, reserved = 192.0.0/24, TEST-NETs, 198.18/15, 240/4 …); only plain
  // "unicast" is globally routable for our purposes.
  return ip.range() !== "unicast";
}

function isPrivateV6(ip: ipaddr.IPv6): boolean {
  const [, p1 = 0, p2 = 0, , , , p6 = 0, p7 = 0] = ip.parts;
  // Forms that carry a v4 address reach that v4 host, so they are judged by it.
  if (ip.isIPv4MappedAddress()) return isPrivateV4(ip.toIPv4Address());
  if (ip.match(NAT64_WELL_KNOWN)) return isPrivateV4(v4FromParts(p6, p7));
  if (ip.range() === "6to4") return isPrivateV4(v4FromParts(p1, p2));
  // Everything else must be ordinary global unicast: inside 2000::/3 (this excludes ::, ::1,
  // IPv4-compatible ::a.b.c.d, fc00::/7, fe80::/10, ff00::/8 …) and not one of the special
  // blocks ipaddr.js names inside it (2001:db8::/32 documentation, Teredo, ORCHID, …).
  return !(ip.match(GLOBAL_UNICAST_V6) && ip.range() === "unicast");
}

/** True for every address that is not global unicast (and for anything unparsable). */
export function isPrivateAddress(ip: string): boolean {
  const bare = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  if (!ipaddr.isValid(bare)) return true;
  const parsed = ipaddr.parse(bare);
  return parsed.kind() === "ipv4" ? isPrivateV4(parsed as ipaddr.IPv4) : isPrivateV6(parsed as ipaddr.IPv6);
}

/**
 * If `hostname` is an IP literal in any notation the WHATWG URL parser accepts (127.1,
 * 2130706433, 0x7f.1, [::ffff:127.0.0.1] …), the normalised address without brackets.
 */
export function literalHostAddress(hostname: string): string | undefined {
  // Characters that would make the string more than a host once pasted into a URL.
  if (hostname === "" || /[/?#@\\\s]/.test(hostname)) return undefined;
  const bracketed = hostname.startsWith("[") && hostname.endsWith("]");
  if (!bracketed && hostname.includes(":")) {
    // A bare v6 literal (as returned by DNS, for instance); a host:port is not a literal.
    return ipaddr.IPv6.isValid(hostname) ? literalHostAddress(`[${hostname}]`) : undefined;
  }
  let host: string;
  try {
    // Let the URL parser do the normalising so we agree with what fetch() will connect to.
    host = new URL(`http://${hostname}/`).hostname;
  } catch {
    return undefined;
  }
  if (host.startsWith("[") && host.endsWith("]")) return host.slice(1, -1);
  return ipaddr.IPv4.isValidFourPartDecimal(host) ? host : undefined;
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "string") {
    return err.code;
  }
  return undefined;
}

const NOT_FOUND_CODES = new Set(["ENOTFOUND", "ENODATA", "EAI_NONAME", "EAI_NODATA", "NXDOMAIN"]);

function privateError(addresses: string[]): string {
  return `url: resolves to a private or loopback address (${addresses.join(", ")}); ${PRIVATE_HINT}`;
}

/**
 * Which addresses a webhook may reach. deny_cidrs wins; then allow_private_networks or an
 * allow_cidrs entry admits an address; otherwise only global unicast is allowed.
 */
export interface AddressRules {
  allowPrivateNetworks: boolean;
  allowCidrs?: readonly string[];
  denyCidrs?: readonly string[];
}

function inCidrs(ip: string, cidrs: readonly string[] | undefined): boolean {
  if (!cidrs || cidrs.length === 0 || !ipaddr.isValid(ip)) return false;
  // process() unmaps ::ffff:a.b.c.d, so a v4 rule also catches the mapped form.
  const addr = ipaddr.process(ip);
  return cidrs.some((c) => {
    const range = ipaddr.parseCIDR(c);
    return addr.kind() === range[0].kind() && addr.match(range);
  });
}

function refusal(ip: string, rules: AddressRules): string | undefined {
  if (inCidrs(ip, rules.denyCidrs)) return `${ip} is in security.deny_cidrs`;
  if (rules.allowPrivateNetworks || inCidrs(ip, rules.allowCidrs)) return undefined;
  return isPrivateAddress(ip) ? ip : undefined;
}

function refusedError(refused: string[]): string {
  const denied = refused.filter((r) => r.includes(" is in "));
  if (denied.length > 0) return `url: ${denied.join("; ")}`;
  return privateError(refused);
}

/**
 * Resolves a host and checks every address it has. On success the addresses may be used — and
 * are the ones to connect to, so that DNS cannot answer differently a moment later.
 */
export async function resolveHost(
  hostname: string,
  rules: AddressRules,
  resolve: Resolver,
): Promise<{ addresses: string[] } | { error: string }> {
  const literal = literalHostAddress(hostname);
  if (literal !== undefined) {
    const bad = refusal(literal, rules);
    return bad === undefined ? { addresses: [literal] } : { error: refusedError([bad]) };
  }
  // RFC 6761: localhost names are loopback whatever DNS says, so refuse them without asking.
  const name = hostname.replace(/\.+$/, "");
  if ((name === "localhost" || name.endsWith(".localhost")) && !rules.allowPrivateNetworks) {
    return { error: `url: host '${hostname}' is a loopback name; ${PRIVATE_HINT}` };
  }
  let addresses: string[];
  try {
    addresses = await resolve(hostname);
  } catch (err) {
    const code = errorCode(err);
    if (code !== undefined && NOT_FOUND_CODES.has(code)) {
      return { error: `url: host name '${hostname}' does not resolve` };
    }
    const why = code === "ETIMEOUT" ? "DNS lookup timed out" : (code ?? "DNS lookup failed");
    return { error: `url: host name '${hostname}' could not be resolved (${why})` };
  }
  if (addresses.length === 0) return { error: `url: host name '${hostname}' does not resolve` };
  // Every address is checked: a name with one public and one private record could be steered
  // to the private one by the connecting client.
  const bad = [...new Set(addresses.map((a) => refusal(a, rules)).filter((r) => r !== undefined))];
  return bad.length > 0 ? { error: refusedError(bad) } : { addresses };
}

/**
 * Validates a webhook URL for creation or update. Returns the normalised URL (WHATWG href) or
 * every problem found, each starting with `url: `. `lookup: false` skips DNS (the caller already
 * knows the request is refused) while still reporting every problem visible in the URL itself.
 */
export async function checkDestination(
  rawUrl: string,
  policy: DestinationPolicy,
  resolve: Resolver,
  opts: { lookup?: boolean } = {},
): Promise<{ url: string } | { errors: string[] }> {
  if (typeof rawUrl !== "string") return { errors: ["url: must be a string"] };
  const errors: string[] = [];
  // Measured on the input, as the contract says, before the parser expands or trims anything.
  if (rawUrl.length > MAX_URL_LENGTH) errors.push(`url: must be at most ${MAX_URL_LENGTH} characters`);
  // The URL parser silently strips or drops these, so what is stored would differ from what
  // the user typed; refusing is clearer than guessing.
  if (/[\s\p{Cc}\p{Cf}]/u.test(rawUrl)) {
    errors.push("url: must not contain whitespace or control characters");
  }
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    errors.push("url: must be an absolute URL");
    return { errors };
  }
  const schemeOk = url.protocol === "https:" || (policy.allowHttp && url.protocol === "http:");
  // Only an http URL hears of the setting: no setting makes ftp: or javascript: acceptable.
  if (!schemeOk) errors.push(policy.allowHttp ? "url: must use http or https" : httpsError(url.protocol));
  if (url.username !== "" || url.password !== "") errors.push("url: must not contain credentials");
  // A fragment is never sent to the receiver, so accepting one only hides duplicates. An empty
  // "#" leaves url.hash empty but stays in href, hence the check on href.
  if (url.href.includes("#")) errors.push("url: must not contain a fragment");
  if (!policy.allowPrivateNetworks || (policy.denyCidrs?.length ?? 0) > 0) {
    // Only ask DNS for otherwise acceptable URLs: no point waiting on a lookup for a URL that
    // is refused anyway. Literal and localhost hosts are still reported, as that is free.
    const literalOrLocal =
      literalHostAddress(url.hostname) !== undefined || /(^|\.)localhost\.*$/.test(url.hostname);
    if ((errors.length === 0 && opts.lookup !== false) || literalOrLocal) {
      const res = await resolveHost(url.hostname, policy, resolve);
      if ("error" in res) errors.push(res.error);
    }
  }
  return errors.length > 0 ? { errors } : { url: url.href };
}

/** The destination rules of `[security]`, as creation and delivery both apply them. */
export function destinationPolicy(security: {
  allow_http: boolean;
  allow_private_networks: boolean;
  allow_cidrs: readonly string[];
  deny_cidrs: readonly string[];
}): DestinationPolicy {
  return {
    allowHttp: security.allow_http,
    allowPrivateNetworks: security.allow_private_networks,
    allowCidrs: security.allow_cidrs,
    denyCidrs: security.deny_cidrs,
  };
}
