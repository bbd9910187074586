import { DomainError } from "../domain/errors.ts";

export interface ErrorBody {
  error: string;
  message: string;
  errors?: string[];
}

export function errorResponse(
  status: number,
  body: ErrorBody,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

interface ValueErrorLike {
  path?: string;
  message?: string;
  schema?: { error?: unknown };
  type?: number;
}

/** "/events/2/name" → "events[2].name"; the root → "body". */
export function fieldPath(pointer: string | undefined): string {
  if (!pointer || pointer === "/" || pointer === "root") return "body";
  return pointer
    .split("/")
    .filter((p) => p !== "")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), "");
}

function phrase(message: string | undefined): string {
  const m = message ?? "is not valid";
  if (m === "Expected required property") return "is required";
  if (m === "Unexpected property") return "is not a known field";
  if (m === "Expected union value") return "has the wrong type";
  return m.charAt(0).toLowerCase() + m.slice(1);
}

/** Elysia/TypeBox validation errors → one "field: problem" line each, duplicates dropped. */
export function validationMessages(all: readonly ValueErrorLike[], where: string): string[] {
  const out = new Set<string>();
  for (const e of all) {
    const custom = typeof e.schema?.error === "string" ? e.schema.error : undefined;
    const field = fieldPath(e.path);
    const name = where === "body" || field !== "body" ? field : where;
    out.add(`${name}: ${custom ?? phrase(e.message)}`);
  }
  return [...out];
}

export function domainErrorResponse(err: DomainError): Response {
  const body: ErrorBody = { error: err.code, message: err.message };
  if (err.errors) body.errors = err.errors;
  return errorResponse(err.status, body, err.headers);
}

export { DomainError };
