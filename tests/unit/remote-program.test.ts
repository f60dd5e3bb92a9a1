// One rule for a remote program in a store URI: --remote-program, a path the probe reported, doctor's fix.
import { describe, expect, it } from "vitest";
import { withRemoteProgram } from "../../src/core/doctor/fixes.js";
import type { ProbeFacts } from "../../src/core/builders/probe.js";
import { checkRemoteProgram, probedRemoteProgram } from "../../src/core/builders/remote-program.js";
import { CrossnixError } from "../../src/errors.js";

const facts = (over: Partial<ProbeFacts>): ProbeFacts => ({
  user: "nix",
  groups: [],
  uname: "Linux x86_64",
  nixVersion: "2.8.0",
  determinateVersion: null,
  systems: ["x86_64-linux"],
  features: [],
  cpus: 2,
  freeBytes: null,
  onPath: { nixDaemon: null, nixStore: null },
  candidates: [],
  trusted: true,
  trustSource: null,
  trustedUsers: [],
  shellNoise: "",
  ...over,
});

function refusal(fn: () => unknown): CrossnixError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CrossnixError) return error;
    throw error;
  }
  throw new Error("expected a CrossnixError");
}

const UNSAFE = [
  "nix-daemon",
  "/a b/nix-daemon",
  "/x&y=1",
  "/x'$(touch /tmp/p)'",
  "/x%26y",
  "/x?y",
  "/x#y",
  "/x;id",
  "/x`id`",
];

describe("checkRemoteProgram", () => {
  it("accepts a plain absolute path", () => {
    expect(checkRemoteProgram("--remote-program", "/nix/var/nix/profiles/default/bin/nix-daemon")).toBe(
      "/nix/var/nix/profiles/default/bin/nix-daemon",
    );
    expect(checkRemoteProgram("--remote-program", "/home/first.last/.nix-profile/bin/nix-store")).toBe(
      "/home/first.last/.nix-profile/bin/nix-store",
    );
  });

  it.each(UNSAFE)("refuses %j as bad input naming the field (exit 2)", (path) => {
    const error = refusal(() => checkRemoteProgram("--remote-program", path));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("--remote-program");
  });
});

describe("probedRemoteProgram", () => {
  it("is null when the program is on the non-interactive PATH, else the first Nix directory's program", () => {
    expect(
      probedRemoteProgram("ssh-ng", facts({ onPath: { nixDaemon: "/usr/bin/nix-daemon", nixStore: null } })),
    ).toBeNull();
    expect(probedRemoteProgram("ssh", facts({ candidates: ["/nix/var/nix/profiles/default/bin"] }))).toBe(
      "/nix/var/nix/profiles/default/bin/nix-store",
    );
  });

  it.each(UNSAFE.filter((p) => p.startsWith("/")))(
    "refuses a reported directory %j instead of putting it into the store URI",
    (dir) => {
      const error = refusal(() => probedRemoteProgram("ssh-ng", facts({ candidates: [dir] })));
      expect(error.exitCode).toBe(2);
      expect(error.hint).toContain("--remote-program");
    },
  );

  it("skips an unsafe directory when a later one is usable", () => {
    expect(probedRemoteProgram("ssh-ng", facts({ candidates: ["/x&y", "/run/current-system/sw/bin"] }))).toBe(
      "/run/current-system/sw/bin/nix-daemon",
    );
  });

  it("without any Nix on the builder it says so", () => {
    expect(refusal(() => probedRemoteProgram("ssh-ng", facts({}))).message).toContain(
      "not on the builder's non-interactive PATH",
    );
  });
});

describe("withRemoteProgram (doctor --fix)", () => {
  it("refuses an unsafe path with crossnix's error, not an internal one", () => {
    expect(refusal(() => withRemoteProgram("ssh-ng://one", "/x&y")).exitCode).toBe(2);
    expect(withRemoteProgram("ssh-ng://one?a=b", "/bin/nix-daemon")).toBe(
      "ssh-ng://one?a=b&remote-program=/bin/nix-daemon",
    );
  });
});
