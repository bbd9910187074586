import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import {
  activeSecrets,
  deliveryHeaders,
  hexSignature,
  standardSignature,
} from "../../src/delivery/signing.ts";
import { generateSecret } from "../../src/domain/secrets.ts";

const body = JSON.stringify({
  id: "evt_01",
  type: "member.added",
  timestamp: "2024-01-01T00:00:00.000Z",
  tenant_id: "acme",
  data: { name: "Zoë 🚀" },
});

function headersFor(secrets: string[], hexHeader?: string, at = Date.now()) {
  return deliveryHeaders({
    customHeaders: { "x-tenant": "acme" },
    eventId: "evt_01",
    timestampSec: Math.floor(at / 1000),
    body,
    secrets,
    version: "1.2.3",
    ...(hexHeader === undefined ? {} : { hexHeader }),
  });
}

describe("standardSignature", () => {
  test("matches the published Standard Webhooks test vector", () => {
    expect(
      standardSignature(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  test("the standardwebhooks library verifies it", () => {
    const secret = generateSecret();
    const parsed = new Webhook(secret).verify(body, headersFor([secret]));
    expect(parsed).toEqual(JSON.parse(body));
  });

  test("a tampered body fails verification", () => {
    const secret = generateSecret();
    const headers = headersFor([secret]);
    expect(() => new Webhook(secret).verify(body.replace("acme", "acmf"), headers)).toThrow();
  });

  test("another secret fails verification", () => {
    const headers = headersFor([generateSecret()]);
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
  });
});

describe("deliveryHeaders", () => {
  test("during a rotation both secrets verify, one v1 entry each", () => {
    const newer = generateSecret();
    const older = generateSecret();
    const headers = headersFor([newer, older]);
    const entries = (headers["webhook-signature"] ?? "").split(" ");
    expect(entries).toHaveLength(2);
    for (const e of entries) expect(e.startsWith("v1,")).toBe(true);
    expect(() => new Webhook(newer).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(older).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
  });

  test("own headers first, then ours; names and values as specified", () => {
    const secret = generateSecret();
    const at = 1_700_000_000_000;
    const headers = headersFor([secret], undefined, at);
    expect(Object.keys(headers)).toEqual([
      "x-tenant",
      "content-type",
      "user-agent",
      "webhook-id",
      "webhook-timestamp",
      "webhook-signature",
    ]);
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["user-agent"]).toBe("Hookline/1.2.3");
    expect(headers["webhook-id"]).toBe("evt_01");
    expect(headers["webhook-timestamp"]).toBe("1700000000");
    expect(headers["x-tenant"]).toBe("acme");
  });

  test("a custom header cannot override ours", () => {
    const headers = deliveryHeaders({
      customHeaders: { "Content-Type": "text/plain", "webhook-id": "forged" },
      eventId: "evt_01",
      timestampSec: 1,
      body,
      secrets: [generateSecret()],
      version: "0.1.0",
    });
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["webhook-id"]).toBe("evt_01");
  });

  test("hex header: lower-cased name, plain HMAC of the body by the newest secret only", () => {
    const newer = generateSecret();
    const older = generateSecret();
    const headers = headersFor([newer, older], "X-Signature");
    const expected = createHmac("sha256", newer).update(body).digest("hex");
    expect(headers["x-signature"]).toBe(expected);
    expect(headers["X-Signature"]).toBeUndefined();
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
    expect(hexSignature(newer, body)).toBe(expected);
  });

  test("no hex header unless configured", () => {
    const headers = headersFor([generateSecret()]);
    expect(Object.keys(headers).some((k) => k.includes("signature") && k !== "webhook-signature")).toBe(
      false,
    );
  });
});

describe("activeSecrets", () => {
  const cur = "whsec_current";
  const prev = "whsec_previous";
  test.each([
    ["no previous secret", null, null, 1000, [cur]],
    ["previous within the overlap", prev, 2000, 1000, [cur, prev]],
    ["previous at its expiry", prev, 1000, 1000, [cur]],
    ["previous past its expiry", prev, 500, 1000, [cur]],
    ["previous without an expiry", prev, null, 1000, [cur]],
  ] as const)("%s", (_name, previous, expiresAt, now, expected) => {
    expect(activeSecrets(cur, previous, expiresAt, now)).toEqual([...expected]);
  });
});
