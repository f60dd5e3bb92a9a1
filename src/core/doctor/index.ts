// Public entry of doctor's checks.
export * from "./builder.js";
export * from "./cache.js";
export * from "./config.js";
export * from "./e2e.js";
export * from "./fixes.js";
export * from "./local.js";
export * from "./machines.js";
export * from "./types.js";
