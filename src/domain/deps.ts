import type { Config } from "../config/types.ts";
import type { Clock } from "./clock.ts";
import type { Resolver } from "./destination.ts";
import type { DispatchHandle } from "./dispatcher-port.ts";
import type { Store } from "./store.ts";

/** What domain functions need from the outside world, passed in rather than imported. */
export interface DomainDeps {
  store: Store;
  clock: Clock;
  config: Config;
  resolver: Resolver;
  /** Where committed deliveries go (commitAndHandOff), and manual attempts and wake-ups. */
  dispatch: DispatchHandle;
}
