// A typed client for the public /v1 API (types generated from openapi.json by openapi-typescript,
// see scripts/openapi.ts), with the signed-in credential on every call.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.d.ts";

export type Schemas = components["schemas"];
export type Webhook = Schemas["Webhook"];
export type Delivery = Schemas["Delivery"];
export type Attempt = Schemas["Attempt"];
export type EventRecord = Schemas["Event"];
export type EventType = Schemas["EventType"];
export type ApiKey = Schemas["ApiKey"];
export type WebhookStats = Schemas["WebhookStats"];

export type Whoami = Schemas["Whoami"];
export type PortalBranding = Schemas["PortalBranding"];

/** `onRefused`: told of any 401, e.g. a portal link that expired or was revoked while open. */
export function makeClient(credential: string, onRefused?: () => void) {
  const client = createClient<paths>({ baseUrl: location.origin });
  client.use({
    onRequest({ request }) {
      request.headers.set("authorization", `Bearer ${credential}`);
      return request;
    },
    onResponse({ response }) {
      if (response.status === 401) onRefused?.();
      return response;
    },
  });
  return client;
}

export type Api = ReturnType<typeof makeClient>;

/** An answer other than 2xx, with the envelope's message and `errors` (API.md §2). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: string[] = [],
  ) {
    super(message);
  }
}

interface Envelope {
  error?: string;
  message?: string;
  errors?: string[];
}

function toApiError(response: Response, body: unknown): ApiError {
  const env = (body && typeof body === "object" ? body : {}) as Envelope;
  const message = env.message ?? `The server answered ${response.status}.`;
  return new ApiError(response.status, message, Array.isArray(env.errors) ? env.errors : []);
}

/** The data of a call, or an ApiError for its error answer. */
export async function must<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw toApiError(response, error);
  return data as T;
}
