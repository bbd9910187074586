// The shared shape of every contract file: one describe per store factory, a fresh store for
// each test (opened before it, closed after it), so no test depends on another's rows.
import { afterEach, beforeEach, describe } from "bun:test";
import type { Store } from "../../src/domain/store.ts";
import { type OpenedStore, STORE_FACTORIES, type StoreFactory } from "./factories.ts";

/** Runs `body`'s tests against a fresh store from `factory`; `getStore()` is the current test's. */
/** `restart()` closes the current test's store and opens a new one on the same database (OpenedStore.reopen). */
export type Restart = () => Promise<Store>;

export function describeStore(
  name: string,
  factory: StoreFactory,
  body: (getStore: () => Store, restart: Restart) => void,
): void {
  describe(`${name} [${factory.name}]`, () => {
    let opened: OpenedStore | undefined;
    beforeEach(async () => {
      opened = await factory.open();
    });
    afterEach(async () => {
      await opened?.close();
      opened = undefined;
    });
    const current = (): OpenedStore => {
      if (!opened) throw new Error("no store open: getStore() is for use inside a test");
      return opened;
    };
    body(
      () => current().store,
      () => current().reopen(),
    );
  });
}

/** `describeStore` once per store in the factory list. */
export function describeEveryStore(name: string, body: (getStore: () => Store, restart: Restart) => void): void {
  for (const factory of STORE_FACTORIES) describeStore(name, factory, body);
}
