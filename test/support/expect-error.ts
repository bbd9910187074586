// The one assertion of the error envelope (API.md §2): every refusal Hookline answers itself is
// JSON `{error, message, errors?}` with an X-Request-Id and no stack trace. Test files call
// `expectError` instead of keeping their own copy, so a rule added here (a header, a key) holds
// for every refusal the suite sees. `envelopeProblems` is the same check as a list, for callers
// that collect problems instead of failing at the first (the fuzz run).
import { expect } from "bun:test";
import type { ErrorBody } from "../../src/api/errors.ts";

/** A fetch Response, or what a test read off a raw socket (header names in lower case). */
export type Answer = Response | { status: number | undefined; headers: Record<string, string>; body: string };

export interface ErrorExpectations {
  /** Each must match at least one item of `errors` (a string: the whole item, a RegExp: a match). */
  errors?: readonly (string | RegExp)[];
  /** The message: a string it must contain, or a RegExp it must match. */
  message?: string | RegExp;
  /** Which case of a loop this is, shown when an assertion fails. */
  label?: string;
}

// Frames ("at fn (file.ts:1:2)"), our source paths, "(file:line:col)": what a leaked stack or
// error object would show.
export const STACK_TRACE = /\bat\s+\S*[\w.-]+\.(ts|js|mjs|cjs)\b|\/(src|node_modules|work)\/|\(\S+:\d+:\d+\)/;

const ENVELOPE_KEYS = ["error", "message", "errors"];

function header(answer: Answer, name: string): string | undefined {
  if (answer instanceof Response) return answer.headers.get(name) ?? undefined;
  return answer.headers[name];
}

async function bodyText(answer: Answer): Promise<string> {
  return answer instanceof Response ? answer.text() : answer.body;
}

/** What is wrong with an error answer's headers and body text; [] when it is a proper envelope. */
export function envelopeProblems(contentType: string | undefined, requestId: string | undefined, text: string): string[] {
  const problems: string[] = [];
  // The media type exactly (a parameter such as charset may follow), not merely "contains json".
  if ((contentType ?? "").split(";")[0]?.trim() !== "application/json") problems.push(`content-type is ${contentType ?? "missing"}`);
  if (!requestId) problems.push("no x-request-id");
  if (STACK_TRACE.test(text)) problems.push(`a stack trace or source path in the body: ${text.slice(0, 200)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [...problems, `a body that is not JSON: ${text.slice(0, 120)}`];
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return [...problems, `a body that is not an object: ${text.slice(0, 120)}`];
  }
  const body = parsed as Record<string, unknown>;
  if (typeof body.error !== "string" || body.error === "") problems.push("no error code");
  if (typeof body.message !== "string" || body.message === "") problems.push("no message");
  const extra = Object.keys(body).filter((k) => !ENVELOPE_KEYS.includes(k));
  if (extra.length > 0) problems.push(`keys outside the envelope: ${extra.join(", ")}`);
  if ("errors" in body && !(Array.isArray(body.errors) && body.errors.every((e) => typeof e === "string"))) {
    problems.push("errors is not a list of strings");
  }
  return problems;
}

/**
 * Asserts that `answer` is the error envelope with this status and code (and, if given, these
 * `errors` items and message), and returns its body.
 */
export async function expectError(answer: Answer, status: number, code: string, want: ErrorExpectations = {}): Promise<ErrorBody> {
  const text = await bodyText(answer);
  // The body in every message: a wrong status is read with what the server said.
  const context = `${want.label ? `${want.label}: ` : ""}${answer.status} ${text.slice(0, 300)}`;
  expect(answer.status, context).toBe(status);
  expect(envelopeProblems(header(answer, "content-type"), header(answer, "x-request-id"), text), context).toEqual([]);
  const body = JSON.parse(text) as ErrorBody;
  expect(body.error, context).toBe(code);
  for (const item of want.errors ?? []) {
    const found = (body.errors ?? []).some((e) => (typeof item === "string" ? e === item : item.test(e)));
    expect(found, `${context}\nno item of errors matches ${String(item)}`).toBe(true);
  }
  if (typeof want.message === "string") expect(body.message, context).toContain(want.message);
  else if (want.message) expect(body.message, context).toMatch(want.message);
  return body;
}

/** A RegExp for items of `errors` about `field`: "field: …" (dots and brackets taken literally). */
export function about(field: string): RegExp {
  return new RegExp(`^${field.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `);
}

/**
 * The most common refusal: 422 validation_failed with an item about each field (a name means
 * "name: …", a RegExp is matched as it is). Returns the items, for the test's own checks.
 */
export async function expectInvalid(answer: Answer, ...fields: (string | RegExp)[]): Promise<string[]> {
  const errors = fields.map((f) => (typeof f === "string" ? about(f) : f));
  const body = await expectError(answer, 422, "validation_failed", { errors });
  return body.errors ?? [];
}
