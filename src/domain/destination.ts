// Webhook destination checks (API.md §4 and §10 "URLs").
//
// A webhook URL makes Hookline send requests on behalf of a tenant, so an unchecked URL is an
// SSRF vector into the appliance's own network. Every check here fails closed: anything we cannot
// parse or classify is refused. Which addresses are refused is address-rules.ts; this file
// finds the addresses (literal or resolved) and words the refusal.
import dns from "node:dns";
import ipaddr from "ipaddr.js";
import { type AddressRules, addressRefusal, namesNeedChecking, type Refusal } from "./address-rules.ts";

export { type AddressRules, isPrivateAddress } from "./address-rules.ts";

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

/** The refusal of an IP literal: the user typed the address, so naming it tells nothing new. */
function literalError(ip: string, r: Refusal): string {
  if (r.rule === "unparsable") return `url: ${ip} is not an IP address`;
  const shown = r.carried === undefined ? ip : `${ip} (carrying ${r.carried})`;
  if (r.rule === "unspecified") return `url: ${shown} is never allowed: 0.0.0.0/8 and :: reach this host itself`;
  if (r.rule === "deny") return `url: ${shown} is in security.deny_cidrs`;
  return `url: ${shown} is a private or loopback address; ${PRIVATE_HINT}`;
}

// Most decisive first: no setting admits the unspecified address or a denied one, so the hint
// to allow private networks comes only when it is the whole story.
const NAME_REASONS: [Refusal["rule"], string][] = [
  ["unspecified", "it resolves to 0.0.0.0/8 or ::, which reach this host itself"],
  ["deny", "it resolves to an address in security.deny_cidrs"],
  ["unparsable", "it resolves to something that is not an IP address"],
  ["private", "it resolves to a private or loopback address"],
];

/**
 * The refusal of a host NAME. The addresses it resolved to are never named: they would let
 * anyone who may create a webhook map the internal network's DNS one name at a time.
 */
function nameError(hostname: string, refusals: Refusal[]): string {
  const rules = new Set(refusals.map((r) => r.rule));
  const [rule, reason] = NAME_REASONS.find(([r]) => rules.has(r)) ?? ["private", "it resolves to a refused address"];
  const hint = rule === "private" ? `; ${PRIVATE_HINT}` : "";
  return `url: host '${hostname}': destination not allowed (${reason})${hint}`;
}

/**
 * Resolves a host and checks every address it has, under the same rules at creation and before
 * every delivery attempt. On success `addresses` are the ones to connect to, so that DNS cannot
 * answer differently a moment later; empty when there is nothing to pin (an IP literal names its
 * address already; a name need not be resolved when the rules could refuse nothing it reaches).
 */
export async function resolveHost(
  hostname: string,
  rules: AddressRules,
  resolve: Resolver,
): Promise<{ addresses: string[] } | { error: string }> {
  const literal = literalHostAddress(hostname);
  if (literal !== undefined) {
    const refused = addressRefusal(literal, rules);
    return refused === undefined ? { addresses: [] } : { error: literalError(literal, refused) };
  }
  if (!namesNeedChecking(rules)) return { addresses: [] };
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
  const refusals = addresses.map((a) => addressRefusal(a, rules)).filter((r) => r !== undefined);
  return refusals.length > 0 ? { error: nameError(hostname, refusals) } : { addresses };
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
  // Only ask DNS for otherwise acceptable URLs: no point waiting on a lookup for a URL that is
  // refused anyway. Literal and localhost hosts are still reported, as that is free; resolveHost
  // itself skips the lookup when the rules could refuse nothing a name reaches.
  const literalOrLocal =
    literalHostAddress(url.hostname) !== undefined || /(^|\.)localhost\.*$/.test(url.hostname);
  if ((errors.length === 0 && opts.lookup !== false) || literalOrLocal) {
    const res = await resolveHost(url.hostname, policy, resolve);
    if ("error" in res) errors.push(res.error);
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
