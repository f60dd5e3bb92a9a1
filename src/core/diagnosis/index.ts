export * from "./nix.js";
export * from "./ssh.js";
