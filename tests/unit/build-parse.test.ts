// Parsing Nix's dry-run and derivation output, and checking build coverage.
import { describe, expect, it } from "vitest";
import { checkCoverage, type CandidateBuilder } from "../../src/core/build/coverage.js";
import { parseDryRun, parseShowDerivation } from "../../src/core/build/nix-output.js";

describe("parseDryRun", () => {
  it("reads derivations to build and paths to fetch (Nix 2.8 wording)", () => {
    const stderr = [
      "these 2 derivations will be built:",
      "  /nix/store/aaa-x.drv",
      "  /nix/store/bbb-y.drv",
      "these 3 paths will be fetched (0.10 MiB download, 0.50 MiB unpacked):",
      "  /nix/store/ccc-z",
      "warning: something",
    ].join("\n");
    expect(parseDryRun(stderr)).toEqual({
      toBuild: ["/nix/store/aaa-x.drv", "/nix/store/bbb-y.drv"],
      toFetch: ["/nix/store/ccc-z"],
    });
    expect(parseDryRun("this derivation will be built:\n  /nix/store/aaa-x.drv\n").toBuild).toEqual([
      "/nix/store/aaa-x.drv",
    ]);
    expect(parseDryRun("").toBuild).toEqual([]);
  });
});

describe("parseShowDerivation", () => {
  it("reads system and features from old (full path) and new (wrapped, base name) shapes", () => {
    const old = JSON.stringify({
      "/nix/store/aaa-x.drv": { system: "aarch64-linux", env: { requiredSystemFeatures: "kvm big-parallel" } },
    });
    expect(parseShowDerivation(old).get("/nix/store/aaa-x.drv")).toEqual({
      system: "aarch64-linux",
      features: ["kvm", "big-parallel"],
    });
    const wrapped = JSON.stringify({ version: 4, derivations: { "aaa-x.drv": { system: "x86_64-linux", env: {} } } });
    expect(parseShowDerivation(wrapped).get("/nix/store/aaa-x.drv")).toEqual({ system: "x86_64-linux", features: [] });
  });
});

describe("checkCoverage", () => {
  const builder = (
    name: string,
    systems: string[],
    features: string[] = [],
    mandatory: string[] = [],
    down = false,
  ): CandidateBuilder => ({
    name,
    systems,
    features,
    mandatoryFeatures: mandatory,
    health: down ? { state: "down", reason: "refused" } : { state: "ok" },
  });
  const local = { systems: ["aarch64-darwin"], features: ["benchmark"], maxJobs: 1 };
  const need = (system: string, features: string[] = []) => ({ drv: `/nix/store/x-${system}.drv`, system, features });

  it("routes each system to the builders that take it", () => {
    const c = checkCoverage([need("aarch64-linux"), need("aarch64-darwin")], [builder("a", ["aarch64-linux"])], local);
    expect(c.ok).toBe(true);
    expect(c.routes).toEqual([
      { system: "aarch64-linux", features: [], builders: ["a"], local: false },
      { system: "aarch64-darwin", features: [], builders: [], local: true },
    ]);
  });

  it.each([
    [
      "none-configured",
      [need("x86_64-linux")],
      [builder("a", ["aarch64-linux"])],
      local,
      /no builder is configured for x86_64-linux/,
    ],
    [
      "down",
      [need("aarch64-linux")],
      [builder("a", ["aarch64-linux"], [], [], true)],
      local,
      /every builder for aarch64-linux is down \(a: refused\)/,
    ],
    [
      "features-missing",
      [need("aarch64-linux", ["kvm"])],
      [builder("a", ["aarch64-linux"], ["big-parallel"])],
      local,
      /no aarch64-linux builder has the features \{kvm\}/,
    ],
    [
      "features-missing",
      [need("aarch64-linux")],
      [builder("a", ["aarch64-linux"], [], ["benchmark"])],
      local,
      /benchmark \(mandatory\)/,
    ],
    [
      "local-builds-disabled",
      [need("aarch64-darwin")],
      [],
      { ...local, maxJobs: 0 },
      /local builds are disabled \(max-jobs = 0\)/,
    ],
  ] as const)("%s", (reason, needs, builders, localCap, detail) => {
    const c = checkCoverage([...needs], [...builders], localCap);
    expect(c.ok).toBe(false);
    expect(c.problems[0]!.reason).toBe(reason);
    expect(c.problems[0]!.detail).toMatch(detail);
  });
});
