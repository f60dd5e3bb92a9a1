// `ci github` workflow generation: every option combination, properties and validation.
import { readFileSync } from "node:fs";
import { validateWorkflow } from "@action-validator/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { NATIVE_RUNNERS } from "../../src/core/ci/facts.js";
import { GENERATED_MARKER, generateGithubWorkflow, isCrossnixGenerated } from "../../src/core/ci/generate.js";
import { lintWorkflow } from "../../src/core/ci/lint.js";
import {
  type Cache,
  checkExplicitSystems,
  type GithubWorkflowSpec,
  type Installer,
  parseCache,
  parseFlakeAttr,
  parseInstaller,
  parseSystemList,
  selectFlakeSystems,
} from "../../src/core/ci/options.js";
import { CrossnixError } from "../../src/errors.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/workflows/${name}`, import.meta.url), "utf8");

const ALL = ["x86_64-linux", "aarch64-linux", "aarch64-darwin", "x86_64-darwin"];
const INSTALLERS: Installer[] = ["determinate", "upstream"];
const CACHES: Cache[] = [
  { kind: "none" },
  { kind: "magic-nix-cache" },
  { kind: "flakehub" },
  { kind: "cachix", name: "my-cache" },
];

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  "runs-on": string;
  strategy: { matrix: { include?: { system: string; runner: string }[]; system?: string[] } };
  steps: Step[];
}
interface Workflow {
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

const combos: { installer: Installer; cache: Cache; emulate: boolean; attr: "packages" | "checks" }[] = [];
for (const installer of INSTALLERS)
  for (const cache of CACHES)
    for (const emulate of [false, true])
      combos.push({ installer, cache, emulate, attr: emulate ? "checks" : "packages" });

const label = (c: (typeof combos)[number]) =>
  `${c.installer} × ${c.cache.kind}${c.emulate ? " × --emulate" : ""} (${c.attr})`;

function specFor(
  c: (typeof combos)[number],
  systems = [...ALL, ...(c.emulate ? ["riscv64-linux"] : [])],
): GithubWorkflowSpec {
  return { systems, installer: c.installer, cache: c.cache, attr: c.attr, emulate: c.emulate };
}

/** Runner each system's build runs on, from the generated matrix. */
function runnersOf(wf: Workflow): Record<string, string> {
  const out: Record<string, string> = {};
  for (const job of Object.values(wf.jobs)) {
    for (const entry of job.strategy.matrix.include ?? []) out[entry.system] = entry.runner;
    for (const system of job.strategy.matrix.system ?? []) out[system] = job["runs-on"];
  }
  return out;
}

describe("ci github: every installer × cache × emulate combination", () => {
  for (const c of combos) {
    describe(label(c), () => {
      const yaml = generateGithubWorkflow(specFor(c));
      const wf = parse(yaml) as Workflow;
      const steps = Object.values(wf.jobs).flatMap((j) => j.steps);

      it("passes the published GitHub workflow schema (@action-validator/core)", () => {
        expect(validateWorkflow(yaml).errors).toEqual([]);
      });

      it("is byte-for-byte deterministic and starts with the crossnix marker", () => {
        expect(generateGithubWorkflow(specFor(c))).toBe(yaml);
        expect(yaml.startsWith(`# ${GENERATED_MARKER}`)).toBe(true);
        expect(isCrossnixGenerated(yaml)).toBe(true);
      });

      it("builds each system on its runner: native unless emulated on ubuntu-24.04", () => {
        const runners = runnersOf(wf);
        expect(runners["x86_64-linux"]).toBe("ubuntu-24.04");
        expect(runners["aarch64-linux"]).toBe(c.emulate ? "ubuntu-24.04" : "ubuntu-24.04-arm");
        expect(runners["aarch64-darwin"]).toBe("macos-15");
        expect(runners["x86_64-darwin"]).toBe("macos-15-intel");
        if (c.emulate) expect(runners["riscv64-linux"]).toBe("ubuntu-24.04");
      });

      it("grants id-token: write only for FlakeHub, and never more than contents: read otherwise", () => {
        const expected = c.cache.kind === "flakehub" ? { contents: "read", "id-token": "write" } : { contents: "read" };
        expect(wf.permissions).toEqual(expected);
        for (const job of Object.values(wf.jobs)) expect(job).not.toHaveProperty("permissions");
      });

      it("sets up QEMU (binfmt + extra-platforms) only with --emulate, and only in the emulated job", () => {
        const qemu = (s: Step) => /qemu|binfmt/.test(s.run ?? "") || /setup-qemu/.test(s.uses ?? "");
        const extra = (s: Step) => Object.values(s.with ?? {}).some((v) => v.includes("extra-platforms"));
        expect(yaml.includes("qemu")).toBe(c.emulate);
        expect(wf.jobs["build"]!.steps.some((s) => qemu(s) || extra(s))).toBe(false);
        if (c.emulate) {
          const emulated = wf.jobs["build-emulated"]!;
          expect(emulated.steps.some(qemu)).toBe(true);
          const install = emulated.steps.find(extra)!;
          expect(Object.values(install.with!).join("")).toBe("extra-platforms = aarch64-linux riscv64-linux\n");
        } else {
          expect(wf.jobs).not.toHaveProperty("build-emulated");
        }
      });

      it("uses the current major of each action it writes", () => {
        const uses = steps.map((s) => s.uses).filter((u): u is string => u !== undefined);
        expect(uses).toContain("actions/checkout@v6");
        expect(uses).toContain(
          c.installer === "determinate"
            ? "DeterminateSystems/determinate-nix-action@v3"
            : "cachix/install-nix-action@v31",
        );
        const cacheAction = {
          none: undefined,
          "magic-nix-cache": "DeterminateSystems/magic-nix-cache-action@v13",
          flakehub: "DeterminateSystems/flakehub-cache-action@v3",
          cachix: "cachix/cachix-action@v17",
        }[c.cache.kind];
        if (cacheAction) expect(uses).toContain(cacheAction);
        else expect(uses.some((u) => /cache/i.test(u))).toBe(false);
        expect(steps.filter((s) => s.run?.includes("nix build")).every((s) => s.run!.includes(`.#${c.attr}.`))).toBe(
          true,
        );
      });

      it("lints clean with crossnix ci lint", () => {
        expect(lintWorkflow("nix.yml", yaml)).toEqual([]);
      });
    });
  }

  it("passes the matrix system to the build script through the environment, not the script text", () => {
    const wf = parse(generateGithubWorkflow(specFor(combos[0]!))) as Workflow;
    const build = wf.jobs["build"]!.steps.at(-1)!;
    expect(build.env).toEqual({ SYSTEM: `\${{ matrix.system }}` });
    expect(build.run).not.toContain("$" + "{{");
  });

  it("records an explicit lint suppression when emulating aarch64-linux, which lint otherwise warns about", () => {
    const yaml = generateGithubWorkflow(
      specFor({ installer: "determinate", cache: { kind: "none" }, emulate: true, attr: "packages" }),
    );
    expect(yaml).toContain("# crossnix-lint: ignore emulated-native-available");
    const unsuppressed = yaml.replace(/^\s*# crossnix-lint:.*\n/m, "");
    expect(lintWorkflow("nix.yml", unsuppressed).map((f) => f.rule)).toEqual(["emulated-native-available"]);
  });

  it("matches the checked-in golden files", () => {
    expect(
      generateGithubWorkflow({
        systems: ALL,
        installer: "determinate",
        cache: { kind: "magic-nix-cache" },
        attr: "packages",
        emulate: false,
      }),
    ).toBe(fixture("generated-default.yml"));
    expect(
      generateGithubWorkflow({
        systems: ["x86_64-linux", "aarch64-linux", "aarch64-darwin", "riscv64-linux"],
        installer: "upstream",
        cache: { kind: "cachix", name: "my-cache" },
        attr: "checks",
        emulate: true,
      }),
    ).toBe(fixture("generated-upstream-cachix-emulate.yml"));
  });
});

describe("ci github: property checks", () => {
  const systemsArb = fc.subarray([...ALL, "riscv64-linux", "armv7l-linux", "powerpc64le-linux"], { minLength: 1 });
  const specArb = fc
    .record({
      systems: systemsArb,
      installer: fc.constantFrom(...INSTALLERS),
      cache: fc.constantFrom(...CACHES),
      attr: fc.constantFrom("packages" as const, "checks" as const),
      emulate: fc.boolean(),
    })
    .filter((s) => s.emulate || s.systems.every((x) => x in NATIVE_RUNNERS));

  it("any valid spec gives a schema-valid, lint-clean workflow building exactly the requested systems", () => {
    fc.assert(
      fc.property(specArb, (raw) => {
        const spec = { ...raw, systems: parseSystemList(raw.systems.join(",")) };
        const yaml = generateGithubWorkflow(spec);
        expect(validateWorkflow(yaml).errors).toEqual([]);
        expect(lintWorkflow("nix.yml", yaml)).toEqual([]);
        expect(Object.keys(runnersOf(parse(yaml) as Workflow)).sort()).toEqual([...spec.systems].sort());
      }),
      { numRuns: 60 },
    );
  });

  it("the order --systems are given in does not change a byte", () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(ALL, { minLength: 1 }), (systems) => {
        const a = parseSystemList(systems.join(","));
        const b = parseSystemList([...systems].reverse().join(" , "));
        const spec = {
          installer: "determinate" as const,
          cache: { kind: "none" as const },
          attr: "packages" as const,
          emulate: false,
        };
        expect(generateGithubWorkflow({ ...spec, systems: a })).toBe(generateGithubWorkflow({ ...spec, systems: b }));
      }),
    );
  });
});

describe("ci github: option validation (exit 2, naming the field and value)", () => {
  const badInputOf = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      expect(error).toBeInstanceOf(CrossnixError);
      return error as CrossnixError;
    }
    throw new Error("expected a CrossnixError");
  };

  it.each([
    ["--installer", () => parseInstaller("nixos"), "nixos"],
    ["--cache", () => parseCache("s3"), "s3"],
    ["--cache", () => parseCache("cachix:"), "cachix:"],
    ["--cache", () => parseCache("cachix:My_Cache"), "cachix:My_Cache"],
    ["--attr", () => parseFlakeAttr("devShells"), "devShells"],
    ["--systems", () => parseSystemList("x86_64-linux,amd64"), "amd64"],
    ["--systems", () => parseSystemList(" , "), " , "],
    ["--systems", () => checkExplicitSystems(["mips64-linux"], true), "mips64-linux"],
    ["--systems", () => checkExplicitSystems(["riscv64-linux"], false), "riscv64-linux"],
  ])("%s rejects %#", (field, f, value) => {
    const error = badInputOf(f);
    expect(error.exitCode).toBe(2);
    expect(error.detail).toEqual({ field, value });
    expect(error.message).toContain(field);
    expect(error.message).toContain(`'${value}'`);
  });

  it("suggests --emulate for a Linux system without a native runner", () => {
    expect(badInputOf(() => checkExplicitSystems(["riscv64-linux"], false)).hint).toContain("--emulate");
  });

  it("defaults: determinate installer, magic-nix-cache, packages", () => {
    expect(parseInstaller(undefined)).toBe("determinate");
    expect(parseCache(undefined)).toEqual({ kind: "magic-nix-cache" });
    expect(parseFlakeAttr(undefined)).toBe("packages");
    expect(parseCache("cachix:nix-community")).toEqual({ kind: "cachix", name: "nix-community" });
  });

  it("keeps the flake's buildable systems and reports the others", () => {
    // nixpkgs' lib.systems.flakeExposed-style list.
    const flakeExposed = [
      "x86_64-linux",
      "aarch64-linux",
      "x86_64-darwin",
      "armv6l-linux",
      "armv7l-linux",
      "i686-linux",
      "aarch64-darwin",
      "riscv64-linux",
      "x86_64-freebsd",
    ];
    expect(selectFlakeSystems(flakeExposed, false)).toEqual({
      systems: ALL,
      skipped: ["armv6l-linux", "armv7l-linux", "i686-linux", "riscv64-linux", "x86_64-freebsd"],
    });
    expect(selectFlakeSystems(flakeExposed, true).systems).toEqual([...ALL, "armv7l-linux", "riscv64-linux"]);
  });
});
