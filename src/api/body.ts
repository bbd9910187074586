import {
  BadRequestError,
  type DomainError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../domain/errors.ts";

/**
 * What the body parser leaves when a body cannot be used. It is thrown only after the caller is
 * authenticated and authorised, so the order of checks stays 401 → 403 → 400/413/415/422.
 */
export class UnusableBody {
  constructor(readonly error: DomainError) {}
}

function isJson(contentType: string): boolean {
  const media = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return media === "application/json" || (media.startsWith("application/") && media.endsWith("+json"));
}

function tooDeep(maxDepth: number): ValidationError {
  return new ValidationError([`body: is nested deeper than ${maxDepth} levels`]);
}

/**
 * True when `value` has more than `maxDepth` nested arrays/objects (the top-level object is level
 * 1). Iterative, with an explicit stack, so a hostile body cannot exhaust the call stack; it stops
 * at the first container past the limit and visits every other node at most once.
 */
export function deeperThan(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [node, depth] = top;
    if (node === null || typeof node !== "object") continue;
    if (depth > maxDepth) return true;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * The body's bytes, or undefined as soon as there are more than `maxBytes`: a chunked upload
 * without content-length is not buffered past the limit (the rest is left unread).
 */
async function readAtMost(request: Request, maxBytes: number): Promise<Uint8Array | undefined> {
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

// Each parsed body's text, for the one route that needs the bytes as sent (a published `data`
// of payload_format "data", API.md §14). Weak: it goes with its request; holding it costs only
// a reference to the string the parse made anyway.
const rawTexts = new WeakMap<Request, string>();

/** The text of the request's JSON body as received, once parseJsonBody read it. */
export function rawJsonText(request: Request): string | undefined {
  return rawTexts.get(request);
}

/**
 * Reads a JSON body under the size and nesting limits. An empty body is an empty object.
 * Never throws for anything a client can send: every problem becomes an UnusableBody.
 */
export async function parseJsonBody(request: Request, maxBytes: number, maxDepth = 32): Promise<unknown> {
  const length = request.headers.get("content-length");
  const declared = Number(length ?? "0");
  if (declared > maxBytes) return new UnusableBody(new PayloadTooLargeError(maxBytes));
  // A declared length within the limit (the usual case) is read in one go; only a chunked body
  // of unknown length is read piece by piece, so it can be cut off at the limit.
  const buf = length !== null ? new Uint8Array(await request.arrayBuffer()) : await readAtMost(request, maxBytes);
  if (buf === undefined) return new UnusableBody(new PayloadTooLargeError(maxBytes));
  if (buf.byteLength === 0) return {};
  if (!isJson(request.headers.get("content-type") ?? "")) {
    return new UnusableBody(new UnsupportedMediaTypeError());
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    return new UnusableBody(new BadRequestError("The body is not valid JSON: not valid UTF-8"));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // An engine whose parser recurses gives up on a very deep body with a RangeError: that is
    // the nesting limit too, not our bug.
    if (err instanceof RangeError) return new UnusableBody(tooDeep(maxDepth));
    const why = err instanceof SyntaxError ? err.message : "unreadable";
    return new UnusableBody(new BadRequestError(`The body is not valid JSON: ${why}`));
  }
  if (deeperThan(value, maxDepth)) return new UnusableBody(tooDeep(maxDepth));
  rawTexts.set(request, text);
  return value;
}
