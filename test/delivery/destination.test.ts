import { describe, expect, test } from "bun:test";
import {
  checkDestination,
  type DestinationPolicy,
  isPrivateAddress,
  literalHostAddress,
  type Resolver,
  systemResolver,
} from "../../src/domain/destination.ts";

const strict: DestinationPolicy = { allowHttp: false, allowPrivateNetworks: false };
const httpOk: DestinationPolicy = { allowHttp: true, allowPrivateNetworks: false };
const open: DestinationPolicy = { allowHttp: true, allowPrivateNetworks: true };

// Tests never touch real DNS: a resolver that fails loudly if a literal host gets resolved.
const noDns: Resolver = async (host) => {
  throw new Error(`unexpected DNS lookup of ${host}`);
};
const fixed =
  (table: Record<string, string[]>): Resolver =>
  async (host) => {
    const found = table[host];
    if (found === undefined) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
    return found;
  };

async function errorsOf(url: string, policy = strict, resolve: Resolver = noDns): Promise<string[]> {
  const result = await checkDestination(url, policy, resolve);
  if (!("errors" in result)) throw new Error(`expected errors for ${url}, got ${result.url}`);
  for (const e of result.errors) expect(e.startsWith("url: ")).toBe(true);
  return result.errors;
}

async function accepted(url: string, policy = strict, resolve: Resolver = noDns): Promise<string> {
  const result = await checkDestination(url, policy, resolve);
  if ("errors" in result) throw new Error(`expected ${url} to pass: ${result.errors.join("; ")}`);
  return result.url;
}

describe("isPrivateAddress", () => {
  const privateAddresses = [
    "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254",
    "127.0.0.1", "127.255.255.254", "169.254.169.254", "172.16.0.1", "172.31.255.255",
    "192.0.0.8", "192.0.2.1", "192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.7",
    "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "ff02::1", "ff0e::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:7f00:1", "::ffff:169.254.169.254",
    "::127.0.0.1", "::10.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::a00:1", "64:ff9b:1::8.8.8.8",
    "2002:7f00:1::", "2002:a00:1::1", "2002:c0a8:101::", "2001:db8::1", "2001:db8:ffff::1",
    "2001::1", "fe80::1%eth0", "[::1]", "not-an-ip", "",
  ];
  for (const ip of privateAddresses) {
    test(`private: ${ip || "(empty)"}`, () => expect(isPrivateAddress(ip)).toBe(true));
  }
  const publicAddresses = [
    "8.8.8.8", "1.1.1.1", "93.184.215.14", "100.63.255.255", "100.128.0.1", "172.15.255.255",
    "172.32.0.1", "192.167.255.255", "223.255.255.255", "2606:4700:4700::1111",
    "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
  ];
  for (const ip of publicAddresses) {
    test(`public: ${ip}`, () => expect(isPrivateAddress(ip)).toBe(false));
  }
});

describe("literalHostAddress", () => {
  const cases: [string, string | undefined][] = [
    ["127.0.0.1", "127.0.0.1"], ["127.1", "127.0.0.1"], ["2130706433", "127.0.0.1"],
    ["0x7f.1", "127.0.0.1"], ["0x7f000001", "127.0.0.1"], ["017700000001", "127.0.0.1"],
    ["0", "0.0.0.0"], ["[::1]", "::1"], ["::1", "::1"], ["[::ffff:127.0.0.1]", "::ffff:7f00:1"],
    ["example.com", undefined], ["localhost", undefined], ["a@127.0.0.1", undefined],
    ["example.com:80", undefined], ["", undefined],
  ];
  for (const [host, want] of cases) {
    test(`${host || "(empty)"} -> ${want}`, () => expect(literalHostAddress(host)).toBe(want));
  }
});

describe("checkDestination: private hosts in URLs", () => {
  const refused = [
    "https://127.0.0.1/", "https://127.1/", "https://2130706433/", "https://0x7f000001/",
    "https://017700000001/", "https://0x7f.1/", "https://127.0.0.1./", "https://%31%32%37.0.0.1/",
    "https://10.1.2.3/", "https://100.64.1.1/",
    "https://169.254.169.254/latest/meta-data/", "https://172.20.0.1/", "https://192.0.0.1/",
    "https://192.0.2.1/", "https://192.168.0.1:8443/x", "https://198.18.0.1/",
    "https://198.51.100.1/", "https://203.0.113.1/", "https://224.0.0.1/", "https://240.0.0.1/",
    "https://255.255.255.255/", "https://[::1]/", "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:10.0.0.1]/", "https://[fc00::1]/", "https://[fe80::1]/", "https://[ff02::1]/",
    "https://[64:ff9b::10.0.0.1]/", "https://[2002:7f00:1::]/", "https://[2001:db8::1]/",
    "https://localhost/", "https://localhost./", "https://api.localhost/", "https://LOCALHOST/",
  ];
  for (const url of refused) {
    test(`refused: ${url}`, async () => {
      const errors = await errorsOf(url);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain("set security.allow_private_networks to allow it");
    });
  }

  test("a literal's message names the address (the user typed it), normalised", async () => {
    expect(await errorsOf("https://127.1/")).toEqual([
      "url: 127.0.0.1 is a private or loopback address; set security.allow_private_networks to allow it",
    ]);
    expect(await errorsOf("https://[2002:7f00:1::]/")).toEqual([
      "url: 2002:7f00:1:: (carrying 127.0.0.1) is a private or loopback address; set security.allow_private_networks to allow it",
    ]);
  });

  test("the unspecified address in any notation is refused without the private-network hint", async () => {
    for (const url of ["https://0/", "https://0.0.0.0/", "https://0.1.2.3/", "https://[::]/", "https://[::ffff:0.0.0.0]/"]) {
      const errors = await errorsOf(url, open);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toEndWith("is never allowed: 0.0.0.0/8 and :: reach this host itself");
    }
  });

  const allowed = ["https://8.8.8.8/", "https://1.1.1.1/hook", "https://[2606:4700:4700::1111]/x"];
  for (const url of allowed) {
    test(`allowed: ${url}`, async () => expect(await accepted(url)).toBe(url));
  }

  test("allowPrivateNetworks lets loopback through without DNS", async () => {
    expect(await accepted("http://127.0.0.1:9999/x", open)).toBe("http://127.0.0.1:9999/x");
    expect(await accepted("http://localhost:9999/x", open)).toBe("http://localhost:9999/x");
    expect(await errorsOf("http://127.0.0.1:9999/x", { allowHttp: false, allowPrivateNetworks: true }))
      .toEqual(["url: must use https; set security.allow_http to allow http"]);
  });
});

describe("checkDestination: resolved host names", () => {
  const resolver = fixed({
    "evil.example.com": ["10.0.0.5"],
    "mixed.example.com": ["93.184.215.14", "::1"],
    "good.example.com": ["93.184.215.14", "2606:4700:4700::1111"],
    "empty.example.com": [],
  });

  test("private answer refused, without naming the address it resolved to", async () => {
    expect(await errorsOf("https://evil.example.com/h", strict, resolver)).toEqual([
      "url: host 'evil.example.com': destination not allowed (it resolves to a private or loopback address); set security.allow_private_networks to allow it",
    ]);
  });
  test("any private answer among several is refused", async () => {
    const errors = await errorsOf("https://mixed.example.com/", strict, resolver);
    expect(errors[0]).toStartWith("url: host 'mixed.example.com': destination not allowed");
    expect(errors[0]).not.toContain("::1");
    expect(errors[0]).not.toContain("93.184");
  });
  test("public answers allowed, href normalised", async () => {
    expect(await accepted("HTTPS://Good.Example.com:443/a/../b?q=1", strict, resolver)).toBe(
      "https://good.example.com/b?q=1",
    );
  });
  test("unknown name and empty answer", async () => {
    expect(await errorsOf("https://x.invalid/", strict, resolver)).toEqual([
      "url: host name 'x.invalid' does not resolve",
    ]);
    expect(await errorsOf("https://empty.example.com/", strict, resolver)).toEqual([
      "url: host name 'empty.example.com' does not resolve",
    ]);
  });
  test("resolver failures become clear errors, not exceptions", async () => {
    const boom: Resolver = async () => {
      throw new Error("socket exploded");
    };
    const timeout: Resolver = async () => {
      throw Object.assign(new Error("slow"), { code: "ETIMEOUT" });
    };
    expect(await errorsOf("https://a.example.com/", strict, boom)).toEqual([
      "url: host name 'a.example.com' could not be resolved (DNS lookup failed)",
    ]);
    expect(await errorsOf("https://a.example.com/", strict, timeout)).toEqual([
      "url: host name 'a.example.com' could not be resolved (DNS lookup timed out)",
    ]);
  });
  test("no DNS lookup when the URL is refused for other reasons", async () => {
    expect(await errorsOf("http://evil.example.com/", strict, noDns)).toEqual([
      "url: must use https; set security.allow_http to allow http",
    ]);
  });
});

test("systemResolver answers from the hosts file", async () => {
  const addresses = await systemResolver("localhost");
  expect(addresses.length).toBeGreaterThan(0);
  expect(addresses.every(isPrivateAddress)).toBe(true);
});

describe("checkDestination: syntax rules", () => {
  test("must be absolute", async () => {
    for (const url of ["", "example.com/hook", "/hook", "https://", "https://exa mple.com/"]) {
      expect(await errorsOf(url)).toContain("url: must be an absolute URL");
    }
  });
  test("length is measured on the input (2083)", async () => {
    const base = "https://8.8.8.8/";
    const at = base + "a".repeat(2083 - base.length);
    expect(await accepted(at)).toBe(at);
    expect(await errorsOf(`${at}a`)).toEqual(["url: must be at most 2083 characters"]);
  });
  test("http only with allowHttp", async () => {
    expect(await errorsOf("http://8.8.8.8/")).toEqual(["url: must use https; set security.allow_http to allow http"]);
    expect(await accepted("http://8.8.8.8/", httpOk)).toBe("http://8.8.8.8/");
    expect(await errorsOf("ftp://8.8.8.8/", httpOk)).toEqual(["url: must use http or https"]);
    expect(await errorsOf("javascript:alert(1)")).toEqual(["url: must use https"]);
  });
  test("credentials refused", async () => {
    expect(await errorsOf("https://user:pass@8.8.8.8/")).toEqual(["url: must not contain credentials"]);
    expect(await errorsOf("https://user@8.8.8.8/")).toEqual(["url: must not contain credentials"]);
  });
  test("fragments refused, even empty", async () => {
    expect(await errorsOf("https://8.8.8.8/#x")).toEqual(["url: must not contain a fragment"]);
    expect(await errorsOf("https://8.8.8.8/#")).toEqual(["url: must not contain a fragment"]);
  });
  test("whitespace and control characters refused", async () => {
    for (const url of [" https://8.8.8.8/", "https://8.8.8.8/\n", "https://8.8.\t8.8/", "https://8.8.8.8/\u200b"]) {
      expect(await errorsOf(url)).toContain("url: must not contain whitespace or control characters");
    }
  });
  test("every problem is reported", async () => {
    expect(await errorsOf("http://u:p@127.0.0.1/#f")).toEqual([
      "url: must use https; set security.allow_http to allow http",
      "url: must not contain credentials",
      "url: must not contain a fragment",
      "url: 127.0.0.1 is a private or loopback address; set security.allow_private_networks to allow it",
    ]);
  });
});
