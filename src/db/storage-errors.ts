import { StorageUnavailableError } from "../domain/errors.ts";
import type { Store } from "../domain/store.ts";

/**
 * Wraps every method of a store so that the storage's own conditions (a full disk, an
 * unwritable file, PostgreSQL down or read-only) reach callers as StorageUnavailableError (503 +
 * Retry-After) and the process keeps running; anything else is a bug and passes through.
 * `classify` names the condition, or returns undefined when the error is not one.
 */
export function translateStorageErrors(store: Store, classify: (err: unknown) => string | undefined): Store {
  const wrapped = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(store) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        const problem = classify(err);
        if (problem) throw new StorageUnavailableError(problem);
        throw err;
      }
    };
  }
  return wrapped as unknown as Store;
}
