// Parsing Nix's dry-run and derivation output, and checking build coverage.
import { describe, expect, it } from "vitest";
import { checkCoverage, type CandidateBuilder } from "../../src/core/build/coverage.js";
import { NixLogTracker } from "../../src/core/build/nix-log.js";
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

describe("NixLogTracker", () => {
  it("times a remote build by its goal activity, not the hand-over that stays open (Nix 2.8)", () => {
    const t = new NixLogTracker();
    const at = (o: object) => `@nix ${JSON.stringify(o)}`;
    t.feed(at({ action: "start", id: 10, type: 105, fields: ["/nix/store/h-a.drv", "", 1, 1] }), 0);
    expect(
      t.feed(at({ action: "start", id: 11, type: 105, fields: ["/nix/store/h-a.drv", "ssh-ng://one", 1, 1] }), 100),
    ).toMatchObject({ kind: "build-start", machine: "ssh-ng://one" });
    expect(t.feed(at({ action: "stop", id: 10 }), 1100)).toEqual({
      kind: "build-end",
      drv: "/nix/store/h-a.drv",
      machine: "ssh-ng://one",
      seconds: 1.1,
    });
    expect(t.feed(at({ action: "stop", id: 11 }), 9000)).toBeNull();
    expect(t.builds).toEqual([{ drv: "/nix/store/h-a.drv", machine: "ssh-ng://one", seconds: 1.1 }]);
  });

  it("a local build is attributed to the empty machine", () => {
    const t = new NixLogTracker();
    const at = (o: object) => `@nix ${JSON.stringify(o)}`;
    expect(t.feed(at({ action: "start", id: 1, type: 105, fields: ["/nix/store/h-b.drv", "", 1, 1] }), 0)).toBeNull();
    expect(t.feed(at({ action: "stop", id: 1 }), 500)).toEqual({
      kind: "build-end",
      drv: "/nix/store/h-b.drv",
      machine: "",
      seconds: 0.5,
    });
  });

  it("times builds by machine and collects substitutions and messages", () => {
    const t = new NixLogTracker();
    const at = (o: object) => `@nix ${JSON.stringify(o)}`;
    expect(
      t.feed(at({ action: "start", id: 1, type: 105, fields: ["/nix/store/h-a.drv", "ssh-ng://one", 1, 1] }), 1000),
    ).toEqual({ kind: "build-start", drv: "/nix/store/h-a.drv", machine: "ssh-ng://one" });
    t.feed(at({ action: "result", id: 1, type: 101, fields: ["compiling"] }), 1100);
    t.feed(at({ action: "start", id: 2, type: 108, fields: ["/nix/store/h-dep", "https://cache.example"] }), 1200);
    expect(t.feed(at({ action: "stop", id: 1 }), 3500)).toEqual({
      kind: "build-end",
      drv: "/nix/store/h-a.drv",
      machine: "ssh-ng://one",
      seconds: 2.5,
    });
    t.feed(at({ action: "msg", level: 0, msg: "\u001b[31;1merror:\u001b[0m boom" }), 3600);
    expect(t.builds).toEqual([{ drv: "/nix/store/h-a.drv", machine: "ssh-ng://one", seconds: 2.5 }]);
    expect(t.substituted).toEqual([{ path: "/nix/store/h-dep", from: "https://cache.example" }]);
    expect(t.messages).toEqual(["error: boom"]);
  });
});
