// Domain errors carry their HTTP meaning so the one error mapper at the edge can render the
// envelope of API.md §2 without knowing which module threw.

export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors?: string[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export class BadRequestError extends DomainError {
  constructor(message: string) {
    super(400, "bad_request", message);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = "Missing, unknown or revoked credentials.") {
    super(401, "unauthorized", message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = "Your role does not allow this call.") {
    super(403, "forbidden", message);
  }
}

export class NotFoundError extends DomainError {
  constructor(what = "Resource") {
    super(404, "not_found", `${what} not found.`);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string) {
    super(409, "conflict", message);
  }
}

export class PayloadTooLargeError extends DomainError {
  constructor(limit: number) {
    super(413, "payload_too_large", `The request body is larger than ${limit} bytes.`);
  }
}

export class UnsupportedMediaTypeError extends DomainError {
  constructor() {
    super(415, "unsupported_media_type", "The request body must be JSON (content-type: application/json).");
  }
}

/** 422 with every problem found, each starting with the field's path: "url: must use https". */
export class ValidationError extends DomainError {
  constructor(errors: string[], message = "The request is not valid.") {
    super(422, "validation_failed", message, errors);
  }
}

export class RateLimitedError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super(429, "rate_limited", "Too many requests; slow down.", undefined, {
      "retry-after": String(retryAfterSeconds),
    });
  }
}

/** Throws a ValidationError when `errors` is not empty. */
export function assertValid(errors: string[]): void {
  if (errors.length > 0) throw new ValidationError(errors);
}

/** Disk full, database read-only or locked: nothing was written; the client should retry. */
export class StorageUnavailableError extends DomainError {
  constructor(detail: string) {
    super(503, "storage_unavailable", `The database cannot be written right now (${detail}); retry later.`, undefined, {
      "retry-after": "5",
    });
  }
}
