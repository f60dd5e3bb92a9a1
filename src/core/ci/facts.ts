/**
 * The facts `ci github` and `ci lint` decide on: which GitHub-hosted runner builds which Nix
 * system, which runner labels are retired, and the current major of every action crossnix
 * writes or checks. Each fact is in docs/github-actions.md with its public source; comments below
 * name the section (`#runners`, `#qemu`, …).
 */

export type Severity = "error" | "warning";

/** Native GitHub-hosted runner per Nix system. */
export const NATIVE_RUNNERS: Readonly<Record<string, string>> = {
  "x86_64-linux": "ubuntu-24.04",
  // #runners: ubuntu-24.04-arm public preview 2025-01-16, GA for public repositories 2025-08-07.
  "aarch64-linux": "ubuntu-24.04-arm",
  // #runners: macos-14/macos-15/macos-latest are arm64 (M1). A numbered image, not the moving
  // `macos-latest`, so a regenerated workflow does not change runner under the user's feet.
  "aarch64-darwin": "macos-15",
  // #runners: macos-15-intel is the last x86_64 macOS image (until about August 2027);
  // macos-13, the old x86_64-darwin default of nix-github-actions, was retired 2025-12-04.
  "x86_64-darwin": "macos-15-intel",
};

/** The x86_64 Linux runner that hosts QEMU user emulation with --emulate. */
export const EMULATION_RUNNER = "ubuntu-24.04";

/**
 * Linux systems `--emulate` builds on EMULATION_RUNNER under QEMU user emulation (binfmt_misc +
 * `extra-platforms`, docs/github-actions.md#qemu), each with the qemu-user-static interpreter
 * that runs it. QEMU user mode exists only on Linux/BSD hosts (#macos-cannot-build-linux), so
 * emulation is never offered on macOS runners.
 */
export const EMULATED_SYSTEMS: Readonly<Record<string, string>> = {
  "aarch64-linux": "qemu-aarch64",
  "armv7l-linux": "qemu-arm",
  "riscv64-linux": "qemu-riscv64",
  "powerpc64le-linux": "qemu-ppc64le",
};

/** Order systems are listed in (native first, then the emulated-only ones alphabetically). */
export const SYSTEM_ORDER = ["x86_64-linux", "aarch64-linux", "aarch64-darwin", "x86_64-darwin"];

export function sortSystems(systems: Iterable<string>): string[] {
  const rank = (s: string) => {
    const i = SYSTEM_ORDER.indexOf(s);
    return i === -1 ? SYSTEM_ORDER.length : i;
  };
  return [...new Set(systems)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export { SYSTEM_PATTERN, systemCpu } from "../nix/systems.js";

export function systemOs(system: string): string {
  return system.slice(system.indexOf("-") + 1);
}

/**
 * The Nix system a GitHub-hosted runner label builds natively, or null when the label is not a
 * GitHub-hosted image crossnix knows (self-hosted, larger-runner groups, expressions).
 */
export function runnerSystem(label: string): string | null {
  const l = label.trim().toLowerCase();
  if (/^ubuntu-(latest|\d+\.\d+)-arm(64)?$/.test(l)) return "aarch64-linux";
  if (/^ubuntu-(latest|\d+\.\d+)$/.test(l)) return "x86_64-linux";
  if (/^macos-[\w.]+-intel$/.test(l)) return "x86_64-darwin";
  // Intel images: macos-13 and older, and the "-large" larger runners; "-xlarge" are arm64.
  if (/^macos-(10\.\d+|11|12|13)(-large)?$/.test(l) || /^macos-[\w.]+-large$/.test(l)) return "x86_64-darwin";
  if (/^macos-(latest|\d+)(-xlarge)?$/.test(l)) return "aarch64-darwin";
  return null;
}

export interface RetiredRunner {
  /** When GitHub removed the image. */
  retired: string;
  replacement: string;
  source: string;
}

/** Runner images GitHub no longer provides: a job on one of them waits for a runner that never comes. */
export const RETIRED_RUNNERS: Readonly<Record<string, RetiredRunner>> = {
  "macos-13": { retired: "2025-12-04", replacement: "macos-15-intel", source: "docs/github-actions.md" },
  "macos-13-large": { retired: "2025-12-04", replacement: "macos-15-intel", source: "docs/github-actions.md" },
  "macos-13-xlarge": { retired: "2025-12-04", replacement: "macos-15", source: "docs/github-actions.md" },
  // The following dates are from GitHub's runner-images deprecation notices (docs/github-actions.md).
  "macos-12": { retired: "2024-12-03", replacement: "macos-15-intel", source: "runner-images" },
  "macos-12-large": { retired: "2024-12-03", replacement: "macos-15-intel", source: "runner-images" },
  "macos-11": { retired: "2024-06-28", replacement: "macos-15-intel", source: "runner-images" },
  "macos-10.15": { retired: "2022-08-30", replacement: "macos-15-intel", source: "runner-images" },
  "ubuntu-20.04": { retired: "2025-04-15", replacement: "ubuntu-24.04", source: "runner-images" },
  "ubuntu-18.04": { retired: "2023-04-03", replacement: "ubuntu-24.04", source: "runner-images" },
};

/** What crossnix knows about one action: its current major and what is wrong with older ones. */
export interface ActionFacts {
  /** owner/name as GitHub spells it (lookups are case-insensitive). */
  repo: string;
  /** The major crossnix writes and accepts without a finding. */
  current: number;
  /** Majors below this do not work any more (error); others below `current` are outdated (warning). */
  brokenBelow?: number;
  /** Why majors below `brokenBelow` fail. */
  brokenWhy?: (major: number) => string;
  /** Why majors below `current` should move. */
  outdatedWhy: (major: number) => string;
}

export const ACTIONS: Readonly<Record<string, ActionFacts>> = {
  checkout: {
    repo: "actions/checkout",
    // #action-runtime: current READMEs use actions/checkout@v6 (node24 era).
    current: 6,
    // v3 and older were built for Node 16/12, runtimes GitHub has already removed from runners;
    // decision: error. v4 runs on Node 20, which GitHub is removing (#action-runtime: default switch
    // June 2026, removal about September 2026, dates uncertain); v5 is node24 but not the current major;
    // decision: both warnings.
    brokenBelow: 4,
    brokenWhy: (major) => `v${major} targets Node 16 or older, runtimes GitHub no longer runs actions on`,
    outdatedWhy: (major) =>
      major === 4
        ? "v4 runs on Node 20, which GitHub is retiring from its runners in 2026"
        : "not the current major; current READMEs use v6",
  },
  magicNixCache: {
    repo: "DeterminateSystems/magic-nix-cache-action",
    // #magic-nix-cache-action: the legacy cache service shut down 2025-04-15 (GitHub's v1 cache API);
    // Cache v2 support came with PR #139 (2025-05-30), released as v10/v11 (June 2025). Every
    // older major talks only to the dead API. Newest tag v13 (2025-07-14).
    current: 13,
    brokenBelow: 10,
    brokenWhy: (major) =>
      `v${major} predates Cache v2 support (v10, June 2025) and talks to GitHub's v1 cache API, whose service shut down on 2025-04-15`,
    outdatedWhy: () => "the newest major is v13 (2025-07-14)",
  },
  nixInstaller: {
    repo: "DeterminateSystems/nix-installer-action",
    // #nix-installer-action: latest major v22 (2026-03-25), runs on node24. It installs the newest
    // Determinate Nix whatever its own pin, so an old major is outdated rather than broken.
    current: 22,
    outdatedWhy: (major) =>
      `v${major} is long outdated; the latest major is v22 (2026-03-25, Node 24). ` +
      "DeterminateSystems/determinate-nix-action@v3 is what Determinate recommends when you want to pin the Nix version",
  },
  determinateNix: {
    repo: "DeterminateSystems/determinate-nix-action",
    // #determinate-nix-action: Determinate's recommended action, moving major tag @v3.
    current: 3,
    outdatedWhy: () => "the current major is v3",
  },
  flakehubCache: {
    repo: "DeterminateSystems/flakehub-cache-action",
    // #flakehub-cache-action: @v3 (v3.21.2, 2026-06-20); needs FlakeHub and `id-token: write`.
    current: 3,
    outdatedWhy: () => "the current major is v3",
  },
  installNix: {
    repo: "cachix/install-nix-action",
    // #install-nix-action: @v31 (v31.11.0, 2026-07-14, installs Nix 2.35.1); nix-github-actions'
    // template still pins v30, which is stale.
    current: 31,
    outdatedWhy: (major) => `v${major} installs an old Nix; the current major is v31`,
  },
  cachix: {
    repo: "cachix/cachix-action",
    // #cachix-action: @v17 (2026-03-18, breaking change to Node 24); v16 was 2026-01-23.
    current: 17,
    outdatedWhy: () => "the current major is v17 (Node 24)",
  },
};

export function actionFacts(repo: string): ActionFacts | undefined {
  const wanted = repo.toLowerCase();
  return Object.values(ACTIONS).find((a) => a.repo.toLowerCase() === wanted);
}

/** `owner/name@vN` as crossnix writes it. */
export function usesRef(action: ActionFacts): string {
  return `${action.repo}@v${action.current}`;
}
