// deny_cidrs / allow_cidrs cannot be walked around (issue 15, item 4): the unspecified address
// reaches this host and is never allowed; an IPv6 form that carries an IPv4 address is judged by
// that address too; a refused host name never echoes what it resolved to.
import { afterEach, describe, expect, test } from "bun:test";
import { type AddressRules, addressRefusal, namesNeedChecking, type Refusal } from "../../src/domain/address-rules.ts";
import type { Resolver } from "../../src/domain/destination.ts";
import { createEventTypes, json } from "../support/fixtures.ts";
import { type Harness, harness } from "../support/harness.ts";

const RULES = {
  strict: { allowPrivateNetworks: false },
  open: { allowPrivateNetworks: true },
  // Internal receivers yes, this host no: the setting the unspecified address used to bypass.
  openNoLoopback: { allowPrivateNetworks: true, denyCidrs: ["127.0.0.0/8", "::1/128"] },
  denyPublic: { allowPrivateNetworks: false, denyCidrs: ["93.184.215.0/24"] },
  denyWrittenV6: { allowPrivateNetworks: false, denyCidrs: ["::ffff:93.184.215.0/120"] },
  allowEverything: { allowPrivateNetworks: false, allowCidrs: ["0.0.0.0/0", "::/0"] },
  allowTen: { allowPrivateNetworks: false, allowCidrs: ["10.0.0.0/8"] },
} satisfies Record<string, AddressRules>;
type RulesName = keyof typeof RULES;

const OK = "allowed" as const;
// Teredo: server 65.54.227.120, client 93.184.215.14 stored bit-inverted in the last 32 bits.
const TEREDO_TO_DENIED = "2001:0:4136:e378:8000:63bf:a247:28f1";

const cases: [string, RulesName, Refusal | typeof OK][] = [
  // The unspecified address, in every notation, under every setting.
  ["0.0.0.0", "strict", { rule: "unspecified" }],
  ["0.0.0.0", "open", { rule: "unspecified" }],
  ["0.0.0.0", "allowEverything", { rule: "unspecified" }],
  ["0.1.2.3", "open", { rule: "unspecified" }],
  ["::", "open", { rule: "unspecified" }],
  ["::", "allowEverything", { rule: "unspecified" }],
  ["::ffff:0.0.0.0", "open", { rule: "unspecified" }],
  ["64:ff9b::", "open", { rule: "unspecified", carried: "0.0.0.0" }],
  ["2002::1", "open", { rule: "unspecified", carried: "0.0.0.0" }],
  ["0.0.0.0", "openNoLoopback", { rule: "unspecified" }],
  ["::", "openNoLoopback", { rule: "unspecified" }],
  // ::1 and its ::/104 neighbours are IPv6's own, not IPv4-compatible forms of 0.0.0.x.
  ["::1", "open", OK],
  ["::1", "strict", { rule: "private" }],
  ["::1", "openNoLoopback", { rule: "deny" }],
  // deny_cidrs written for IPv4 holds for every IPv6 form that carries the address.
  ["93.184.215.14", "denyPublic", { rule: "deny" }],
  ["::ffff:93.184.215.14", "denyPublic", { rule: "deny" }],
  ["64:ff9b::5db8:d70e", "denyPublic", { rule: "deny", carried: "93.184.215.14" }],
  ["64:ff9b:1::5db8:d70e", "denyPublic", { rule: "deny", carried: "93.184.215.14" }],
  ["2002:5db8:d70e::1", "denyPublic", { rule: "deny", carried: "93.184.215.14" }],
  ["::ffff:0:5db8:d70e", "denyPublic", { rule: "deny", carried: "93.184.215.14" }],
  ["::5db8:d70e", "denyPublic", { rule: "deny", carried: "93.184.215.14" }],
  [TEREDO_TO_DENIED, "denyPublic", { rule: "deny", carried: "93.184.215.14" }],
  ["93.184.216.1", "denyPublic", OK],
  ["64:ff9b::5db8:d801", "denyPublic", OK],
  ["2002:5db8:d801::1", "denyPublic", OK],
  ["2606:4700:4700::1111", "denyPublic", OK],
  // A rule written in IPv6 notation for IPv4 addresses catches the plain IPv4 address too.
  ["93.184.215.14", "denyWrittenV6", { rule: "deny" }],
  ["::ffff:93.184.215.14", "denyWrittenV6", { rule: "deny" }],
  // Loopback by way of NAT64 and 6to4 is private, and denied where 127.0.0.0/8 is.
  ["64:ff9b::7f00:1", "strict", { rule: "private", carried: "127.0.0.1" }],
  ["2002:7f00:1::", "strict", { rule: "private", carried: "127.0.0.1" }],
  ["64:ff9b::7f00:1", "open", OK],
  ["64:ff9b::7f00:1", "openNoLoopback", { rule: "deny", carried: "127.0.0.1" }],
  ["2002:7f00:1::", "openNoLoopback", { rule: "deny", carried: "127.0.0.1" }],
  ["::ffff:127.0.0.1", "openNoLoopback", { rule: "deny" }],
  ["127.0.0.1", "openNoLoopback", { rule: "deny" }],
  ["10.0.0.1", "openNoLoopback", OK],
  // allow_cidrs admits the address itself (mapped included), never what a form carries.
  ["10.1.2.3", "allowTen", OK],
  ["::ffff:10.1.2.3", "allowTen", OK],
  ["10.1.2.3", "strict", { rule: "private" }],
  ["2002:a01:203::", "allowTen", { rule: "private", carried: "10.1.2.3" }],
  ["127.0.0.1", "allowTen", { rule: "private" }],
  ["127.0.0.1", "allowEverything", OK],
  // Fails closed.
  ["not-an-ip", "open", { rule: "unparsable" }],
  ["", "allowEverything", { rule: "unparsable" }],
];

describe("addressRefusal", () => {
  test.each(cases)("%s under %s → %p", (ip, rules, want) => {
    const got = addressRefusal(ip, RULES[rules]);
    expect(got ?? OK).toEqual(want);
  });

  test.each([
    ["strict", true],
    ["open", false],
    ["openNoLoopback", true],
    ["denyPublic", true],
    ["allowEverything", true],
  ] as const)("names are resolved under %s: %p", (rules, want) => {
    expect(namesNeedChecking(RULES[rules])).toBe(want);
  });
});

// ---------------------------------------------------------------------------------------------
// Through the API: POST /v1/webhooks answers 422 naming url.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function setup(security: Record<string, unknown>, resolver?: Resolver): Promise<Harness> {
  h = await harness({ security: { allow_http: true, ...security } }, resolver ? { resolver } : {});
  await createEventTypes(h, ["member.added"]);
  return h;
}

async function refusedUrl(hh: Harness, url: string): Promise<string[]> {
  const res = await hh.call("POST", "/v1/webhooks", { body: { tenant_id: "acme", url, events: ["member.added"] } });
  const body = await json<{ error: string; errors: string[] }>(res);
  expect({ url, status: res.status, error: body.error }).toEqual({ url, status: 422, error: "validation_failed" });
  return body.errors;
}

describe("POST /v1/webhooks", () => {
  test("deny_cidrs for an IPv4 range refuses its NAT64, 6to4 and mapped forms", async () => {
    const hh = await setup({ allow_private_networks: false, deny_cidrs: ["93.184.215.0/24"] });
    expect(await refusedUrl(hh, "https://[64:ff9b::5db8:d70e]/in")).toEqual([
      "url: 64:ff9b::5db8:d70e (carrying 93.184.215.14) is in security.deny_cidrs",
    ]);
    expect(await refusedUrl(hh, "https://[2002:5db8:d70e::1]/in")).toEqual([
      "url: 2002:5db8:d70e::1 (carrying 93.184.215.14) is in security.deny_cidrs",
    ]);
    expect(await refusedUrl(hh, "https://[::ffff:93.184.215.14]/in")).toEqual(["url: ::ffff:5db8:d70e is in security.deny_cidrs"]);
    // Outside the range, the same forms are public and pass.
    const ok = await hh.call("POST", "/v1/webhooks", {
      body: { tenant_id: "acme", url: "https://[64:ff9b::5db8:d801]/in", events: ["member.added"] },
    });
    expect(ok.status).toBe(201);
  });

  test("loopback by way of NAT64 or 6to4 is private unless private networks are allowed", async () => {
    const hh = await setup({ allow_private_networks: false });
    for (const url of ["https://[64:ff9b::7f00:1]/in", "https://[2002:7f00:1::]/in"]) {
      const errors = await refusedUrl(hh, url);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toEndWith("(carrying 127.0.0.1) is a private or loopback address; set security.allow_private_networks to allow it");
    }
  });

  test("0.0.0.0 and :: are refused even with private networks allowed or an allow_cidrs range over them", async () => {
    for (const security of [{ allow_private_networks: true }, { allow_private_networks: false, allow_cidrs: ["0.0.0.0/0", "::/0"] }]) {
      const hh = await setup(security);
      for (const [url, shown] of [
        ["http://0.0.0.0:9/in", "0.0.0.0"],
        ["http://0:9/in", "0.0.0.0"],
        ["http://[::]:9/in", "::"],
        ["http://[::ffff:0.0.0.0]:9/in", "::ffff:0:0"],
      ] as const) {
        expect(await refusedUrl(hh, url)).toEqual([`url: ${shown} is never allowed: 0.0.0.0/8 and :: reach this host itself`]);
      }
      await h?.close();
      h = undefined;
    }
  });

  test("a host name that resolves to a refused address: 'destination not allowed', never the address", async () => {
    const answers: Record<string, string[]> = {
      "intranet.example.test": ["10.20.30.40"],
      "nat64.example.test": ["64:ff9b::7f00:1"],
      "zero.example.test": ["0.0.0.0"],
      "denied.example.test": ["93.184.215.77"],
    };
    const resolver: Resolver = async (name) => answers[name] ?? [];
    const hh = await setup({ allow_private_networks: false, deny_cidrs: ["93.184.215.0/24"] }, resolver);
    const hint = "; set security.allow_private_networks to allow it";
    expect(await refusedUrl(hh, "https://intranet.example.test/in")).toEqual([
      `url: host 'intranet.example.test': destination not allowed (it resolves to a private or loopback address)${hint}`,
    ]);
    expect(await refusedUrl(hh, "https://nat64.example.test/in")).toEqual([
      `url: host 'nat64.example.test': destination not allowed (it resolves to a private or loopback address)${hint}`,
    ]);
    expect(await refusedUrl(hh, "https://zero.example.test/in")).toEqual([
      "url: host 'zero.example.test': destination not allowed (it resolves to 0.0.0.0/8 or ::, which reach this host itself)",
    ]);
    expect(await refusedUrl(hh, "https://denied.example.test/in")).toEqual([
      "url: host 'denied.example.test': destination not allowed (it resolves to an address in security.deny_cidrs)",
    ]);
  });

  test("with private networks allowed and loopback denied, a name resolving to 0.0.0.0 is refused too", async () => {
    const resolver: Resolver = async () => ["0.0.0.0"];
    const hh = await setup({ allow_private_networks: true, deny_cidrs: ["127.0.0.0/8", "::1/128"] }, resolver);
    expect(await refusedUrl(hh, "http://sneaky.example.test:9/in")).toEqual([
      "url: host 'sneaky.example.test': destination not allowed (it resolves to 0.0.0.0/8 or ::, which reach this host itself)",
    ]);
  });
});
