// Public entry of the diagnosis modules: why a Nix remote build or an ssh connection failed.
export * from "./nix/index.js";
export * from "./ssh.js";
