export * from "./event-types.ts";
export * from "./events.ts";
export * from "./keys.ts";
export * from "./webhooks.ts";
export * from "./readiness.ts";
export * from "./stats.ts";
export * from "./replays.ts";
