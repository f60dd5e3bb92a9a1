// What a Nix system name is (`<cpu>-<os>`, e.g. aarch64-linux): the one definition every part of
// crossnix checks systems against, the common ones, and the system of a Node platform/arch pair.

/** Shaped like a Nix system double, `<cpu>-<os>` (e.g. wasm32-wasi passes, x86_64 does not). */
export function looksLikeSystem(system: string): boolean {
  return /^[A-Za-z0-9_]+-[A-Za-z0-9_]+$/.test(system);
}

/** A system as flakes and CI name them: lower case, an OS Nix builds for. */
export const SYSTEM_PATTERN = /^[a-z0-9_]+-(linux|darwin|freebsd|netbsd|openbsd|cygwin|windows|none)$/;

const KNOWN_SYSTEMS: ReadonlySet<string> = new Set([
  "x86_64-linux",
  "aarch64-linux",
  "i686-linux",
  "armv7l-linux",
  "armv6l-linux",
  "riscv64-linux",
  "powerpc64le-linux",
  "x86_64-darwin",
  "aarch64-darwin",
  "x86_64-freebsd",
]);

/** The common system doubles; Nix itself accepts any string in a machines file's systems column. */
export function isKnownSystem(system: string): boolean {
  return KNOWN_SYSTEMS.has(system);
}

/** The CPU half of a system: `aarch64` of `aarch64-linux`. */
export function systemCpu(system: string): string {
  return system.slice(0, system.indexOf("-"));
}

/** Nix system double for a Node platform/arch pair, e.g. darwin/arm64 → aarch64-darwin. */
export function nixSystemFor(platform: string, arch: string): string {
  const cpu: Record<string, string> = {
    arm64: "aarch64",
    x64: "x86_64",
    ia32: "i686",
    riscv64: "riscv64",
    ppc64: "powerpc64le",
    arm: "armv7l",
  };
  return `${cpu[arch] ?? arch}-${platform === "darwin" ? "darwin" : platform}`;
}
