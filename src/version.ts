import pkg from "../package.json" with { type: "json" };

/** Baked in at build time, so the binary knows its version without package.json beside it. */
export const VERSION: string = pkg.version;
