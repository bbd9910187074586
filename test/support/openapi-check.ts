// Checks an answer against the schema the OpenAPI document declares for it, with ajv, so a test
// that drives the API also proves that the document tells the truth.
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";

const pointerToken = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");

export interface ResponseChecker {
  /** The problems of `body` against the declared schema of (path, method, status); [] when it fits. */
  problems(path: string, method: string, status: number, body: unknown): string[];
  /** The problems of a request body against the declared requestBody schema of (path, method). */
  requestProblems(path: string, method: string, body: unknown): string[];
}

export function responseChecker(doc: Record<string, unknown>): ResponseChecker {
  // strict: false — the document holds OpenAPI keywords (example, openapi, info…) that are not
  // JSON Schema.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, "openapi");
  const check = (pointer: string, what: string, value: unknown): string[] => {
    const validate = ajv.getSchema(`openapi#${pointer}/content/application~1json/schema`);
    if (!validate) return [`no schema declared for ${what}`];
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
  };
  return {
    problems: (path, method, status, body) =>
      check(`/paths/${pointerToken(path)}/${method}/responses/${status}`, `${method.toUpperCase()} ${path} → ${status}`, body),
    requestProblems: (path, method, body) =>
      check(`/paths/${pointerToken(path)}/${method}/requestBody`, `the body of ${method.toUpperCase()} ${path}`, body),
  };
}
