// Which IP addresses a webhook may reach (API.md §10 "URLs"), as one pure decision that both the
// check at creation and the check before every delivery attempt make (destination.ts). Table
// tested in test/delivery/destination-bypass.test.ts.
//
// Every rule fails closed: an address we cannot parse is refused, and an IPv6 form that carries
// an IPv4 address (mapped, NAT64, 6to4 …) is judged by the IPv4 host it reaches as well as by
// itself, so a deny rule written for IPv4 cannot be walked around in IPv6 notation.
import ipaddr from "ipaddr.js";

/**
 * The `[security]` address settings. deny_cidrs wins over everything but the unspecified rule;
 * then allow_private_networks or an allow_cidrs entry admits an address; otherwise only global
 * unicast is allowed.
 */
export interface AddressRules {
  allowPrivateNetworks: boolean;
  allowCidrs?: readonly string[];
  denyCidrs?: readonly string[];
}

/**
 * Why an address is refused. `carried` is the IPv4 address an IPv6 form carries when that is what
 * decided (e.g. 93.184.215.14 in 64:ff9b::5db8:d70e).
 * - unparsable: not an IP address at all.
 * - unspecified: 0.0.0.0/8 or :: — connecting to them reaches this host itself on Linux, so no
 *   setting admits them (allowing private networks while denying 127.0.0.0/8 must still hold).
 * - deny: in security.deny_cidrs.
 * - private: not global unicast, and neither allow_private_networks nor allow_cidrs admits it.
 */
export type Refusal =
  | { rule: "unparsable" }
  | { rule: "unspecified" | "deny" | "private"; carried?: string };

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

// Explicit ranges where ipaddr.js names are too coarse or too loose.
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");
// The well-known NAT64 prefix (RFC 6052) translates to public IPv4; its local-use neighbour
// 64:ff9b:1::/48 (RFC 8215) is private, but a gateway there most often embeds a /96 the same way.
const NAT64_WELL_KNOWN = ipaddr.parseCIDR("64:ff9b::/96");
const NAT64_LOCAL_USE = ipaddr.parseCIDR("64:ff9b:1::/48");
const TEREDO = ipaddr.parseCIDR("2001::/32");
const IPV4_TRANSLATED = ipaddr.parseCIDR("::ffff:0:0:0/96");
const IPV4_COMPATIBLE = ipaddr.parseCIDR("::/96");
const UNSPECIFIED_V4 = ipaddr.parseCIDR("0.0.0.0/8");

function v4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/**
 * The IPv4 address an IPv6 address carries and hands traffic to: IPv4-mapped ::ffff:a.b.c.d
 * (the same socket, on a dual-stack host), IPv4-translated ::ffff:0:a.b.c.d (SIIT), NAT64
 * (the last 32 bits), 6to4 2002:AABB:CCDD::/48 (bits 16–48), Teredo (the client, bit-inverted in
 * the last 32 bits) and the deprecated IPv4-compatible ::a.b.c.d (except ::, ::1 and the rest of
 * ::/104, which are IPv6's own).
 */
export function carriedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const [, p1 = 0, p2 = 0, , , , p6 = 0, p7 = 0] = ip.parts;
  if (ip.isIPv4MappedAddress()) return ip.toIPv4Address();
  if (ip.match(IPV4_TRANSLATED) || ip.match(NAT64_WELL_KNOWN) || ip.match(NAT64_LOCAL_USE)) {
    return v4FromParts(p6, p7);
  }
  if (ip.range() === "6to4") return v4FromParts(p1, p2);
  if (ip.match(TEREDO)) return v4FromParts(~p6 & 0xffff, ~p7 & 0xffff);
  if (ip.match(IPV4_COMPATIBLE) && p6 >> 8 !== 0) return v4FromParts(p6, p7);
  return undefined;
}

function isPrivateV4(ip: ipaddr.IPv4): boolean {
  // ipaddr.js names every special-purpose v4 block (private, loopback, linkLocal,
  // carrierGradeNat, reserved = 192.0.0/24, TEST-NETs, 198.18/15, 240/4 …); only plain
  // "unicast" is globally routable for our purposes.
  return ip.range() !== "unicast";
}

function isPrivateV6(ip: ipaddr.IPv6): boolean {
  // Forms that carry a v4 address onto the public IPv4 Internet are judged by that host.
  if (ip.isIPv4MappedAddress()) return isPrivateV4(ip.toIPv4Address());
  if (ip.match(NAT64_WELL_KNOWN) || ip.range() === "6to4") {
    const v4 = carriedIPv4(ip);
    return v4 === undefined || isPrivateV4(v4);
  }
  // Everything else must be ordinary global unicast: inside 2000::/3 (this excludes ::, ::1,
  // IPv4-compatible ::a.b.c.d, fc00::/7, fe80::/10, ff00::/8 …) and not one of the special
  // blocks ipaddr.js names inside it (2001:db8::/32 documentation, Teredo, ORCHID, …).
  return !(ip.match(GLOBAL_UNICAST_V6) && ip.range() === "unicast");
}

function parse(ip: string): Addr | undefined {
  const bare = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  return ipaddr.isValid(bare) ? ipaddr.parse(bare) : undefined;
}

/** True for every address that is not global unicast (and for anything unparsable). */
export function isPrivateAddress(ip: string): boolean {
  const addr = parse(ip);
  if (addr === undefined) return true;
  return addr.kind() === "ipv4" ? isPrivateV4(addr as ipaddr.IPv4) : isPrivateV6(addr as ipaddr.IPv6);
}

type Cidr = [Addr, number];
// Config lists are frozen and live as long as the config: parse each one once.
const parsedLists = new WeakMap<readonly string[], Cidr[]>();
function cidrsOf(list: readonly string[] | undefined): Cidr[] {
  if (list === undefined || list.length === 0) return [];
  let parsed = parsedLists.get(list);
  if (parsed === undefined) {
    // Config validation refuses bad CIDRs; one that slips through matches nothing.
    parsed = list.flatMap((c) => (ipaddr.isValidCIDR(c) ? [ipaddr.parseCIDR(c)] : []));
    parsedLists.set(list, parsed);
  }
  return parsed;
}

/** `addr` in a range, whichever family the range is written in (10.0.0.0/8 or ::ffff:10.0.0.0/104). */
function inRange(addr: Addr, [base, bits]: Cidr): boolean {
  if (addr.kind() === base.kind()) return addr.match(base, bits);
  if (addr.kind() === "ipv4" && base.kind() === "ipv6") {
    return (addr as ipaddr.IPv4).toIPv4MappedAddress().match(base, bits);
  }
  return false;
}

/**
 * Why a connection to `ip` is refused under `rules`, or undefined when it is allowed. The
 * unspecified and deny rules look at the address and at the IPv4 address it carries; allow rules
 * admit by the address itself (a mapped address is its IPv4 address), never by what it carries,
 * so allowing 10.0.0.0/8 does not open 2002:a00:1::.
 */
export function addressRefusal(ip: string, rules: AddressRules): Refusal | undefined {
  const parsed = parse(ip);
  if (parsed === undefined) return { rule: "unparsable" };
  // process(): ::ffff:a.b.c.d is that IPv4 address for every rule, as for the socket.
  const addr = ipaddr.process(parsed.toString());
  const carried = addr.kind() === "ipv6" ? carriedIPv4(addr as ipaddr.IPv6) : undefined;
  const why = (rule: "unspecified" | "deny", hit: Addr): Refusal =>
    hit === addr ? { rule } : { rule, carried: hit.toString() };
  const forms: Addr[] = carried === undefined ? [addr] : [addr, carried];
  for (const form of forms) {
    const unspecified = form.kind() === "ipv4" ? form.match(UNSPECIFIED_V4) : form.range() === "unspecified";
    if (unspecified) return why("unspecified", form);
  }
  const deny = cidrsOf(rules.denyCidrs);
  for (const form of forms) if (deny.some((c) => inRange(form, c))) return why("deny", form);
  if (rules.allowPrivateNetworks || cidrsOf(rules.allowCidrs).some((c) => inRange(addr, c))) return undefined;
  if (!isPrivateAddress(addr.toString())) return undefined;
  return carried !== undefined && isPrivateV4(carried) ? { rule: "private", carried: carried.toString() } : { rule: "private" };
}

/**
 * Whether a host NAME must be resolved to be judged. With private networks allowed and nothing
 * denied, the only addresses refused are the unspecified ones, which reach this host — and this
 * host is already allowed then — so a lookup (and pinning) would protect nothing. IP literals are
 * always judged: that costs no lookup.
 */
export function namesNeedChecking(rules: AddressRules): boolean {
  return !rules.allowPrivateNetworks || cidrsOf(rules.denyCidrs).length > 0;
}
