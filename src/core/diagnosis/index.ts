export * from "./nix/index.js";
export * from "./ssh.js";
