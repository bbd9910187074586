import { BadRequestError, type DomainError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../domain/errors.ts";

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

/** Reads a JSON body under the size limit. An empty body is an empty object. */
export async function parseJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) return new UnusableBody(new PayloadTooLargeError(maxBytes));
  const buf = await request.arrayBuffer();
  if (buf.byteLength > maxBytes) return new UnusableBody(new PayloadTooLargeError(maxBytes));
  if (buf.byteLength === 0) return {};
  if (!isJson(request.headers.get("content-type") ?? "")) {
    return new UnusableBody(new UnsupportedMediaTypeError());
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(buf));
  } catch (err) {
    const why = err instanceof SyntaxError ? err.message : "not valid UTF-8";
    return new UnusableBody(new BadRequestError(`The body is not valid JSON: ${why}`));
  }
}
