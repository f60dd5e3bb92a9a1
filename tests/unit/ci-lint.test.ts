// `ci lint` rules on example, real-world-shaped and focused workflows.
import { readFileSync } from "node:fs";
import { validateWorkflow } from "@action-validator/core";
import { describe, expect, it } from "vitest";
import { runnerSystem } from "../../src/core/ci/facts.js";
import { type Finding, lintWorkflow, RULES } from "../../src/core/ci/lint.js";
import { extraPlatformsIn, nixInvocations, splitCommands } from "../../src/core/ci/shell.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/workflows/${name}`, import.meta.url), "utf8");
const lint = (name: string) => lintWorkflow(name, fixture(name));
/** `line rule` pairs: compact and order-checked. */
const brief = (findings: Finding[]) => findings.map((f) => `${f.line} ${f.rule}`);

describe("ci lint: the seed guide's workflow", () => {
  const findings = lint("seed-cross-build.yml");

  it("reports every mistake with file:line, severity, rule, message and fix", () => {
    expect(brief(findings)).toEqual([
      "10 action-outdated", // actions/checkout@v4
      "13 action-outdated", // nix-installer-action@v4
      "16 action-broken", // magic-nix-cache-action@v2
      "20 impure-not-cross",
      "20 foreign-system", // --system aarch64-linux on ubuntu-latest, no emulation
      "24 impure-not-cross",
    ]);
    for (const f of findings) {
      expect(f.file).toBe("seed-cross-build.yml");
      expect(f.message.length).toBeGreaterThan(10);
      expect(f.fix.length).toBeGreaterThan(5);
      expect(f.severity).toBe(RULES[f.rule].severity);
    }
  });

  it("names the outdated actions and their replacements", () => {
    const byLine = new Map(findings.map((f) => [`${f.line} ${f.rule}`, f]));
    expect(byLine.get("10 action-outdated")!.message).toContain("actions/checkout@v4");
    expect(byLine.get("10 action-outdated")!.fix).toBe("uses: actions/checkout@v6");
    expect(byLine.get("13 action-outdated")!.message).toContain("nix-installer-action@v4");
    expect(byLine.get("13 action-outdated")!.fix).toBe("uses: DeterminateSystems/nix-installer-action@v22");
    const mnc = byLine.get("16 action-broken")!;
    expect(mnc.severity).toBe("error");
    expect(mnc.message).toContain("magic-nix-cache-action@v2");
    expect(mnc.fix).toContain("magic-nix-cache-action@v13");
  });

  it("places the foreign build and --impure at their columns inside the run block", () => {
    const foreign = findings.find((f) => f.rule === "foreign-system")!;
    const line20 = fixture("seed-cross-build.yml").split("\n")[19]!;
    expect(line20.slice(foreign.column - 1)).toMatch(/^--system aarch64-linux/);
    expect(foreign.message).toContain("ubuntu-latest");
    expect(foreign.fix).toContain("ubuntu-24.04-arm");
    const impure = findings.find((f) => f.rule === "impure-not-cross")!;
    expect(line20.slice(impure.column - 1)).toMatch(/^--impure/);
  });
});

describe("ci lint: real-world-shaped workflows", () => {
  it("a generated workflow has no findings", () => {
    expect(lint("generated-default.yml")).toEqual([]);
    expect(lint("generated-upstream-cachix-emulate.yml")).toEqual([]);
  });

  it("FlakeHub without id-token: write", () => {
    const findings = lint("flakehub-missing-id-token.yml");
    expect(brief(findings)).toEqual(["16 flakehub-id-token"]);
    expect(findings[0]!.severity).toBe("error");
    expect(findings[0]!.fix).toContain("id-token: write");
  });

  it("job-level permissions replace the workflow's id-token grant", () => {
    const findings = lint("flakehub-job-permissions-override.yml");
    // The check job inherits the workflow's id-token (flakehub: true is fine); publish overrides it.
    expect(brief(findings)).toEqual(["27 flakehub-id-token"]);
    expect(findings[0]!.message).toContain("replace the workflow's");
  });

  it("retired runners, directly and through a matrix, and old action majors", () => {
    const findings = lint("retired-runners-matrix.yml");
    expect(brief(findings)).toEqual([
      "7 runner-retired", // ubuntu-20.04
      "7 runner-retired", // macos-12
      "7 runner-retired", // macos-13
      "10 action-broken", // checkout@v3
      "11 action-outdated", // install-nix-action@v27
      "14 action-outdated", // cachix-action@v14
      "20 runner-retired", // runs-on: macos-13
      "22 action-outdated", // checkout@v4
    ]);
    const retired = findings.filter((f) => f.rule === "runner-retired");
    expect(retired.map((f) => f.message.match(/'([^']+)'/)![1])).toEqual([
      "ubuntu-20.04",
      "macos-12",
      "macos-13",
      "macos-13",
    ]);
    expect(retired.at(-1)!.fix).toContain("macos-15-intel");
    expect(retired[0]!.fix).toContain("ubuntu-24.04");
  });

  it("QEMU emulation: native-arm warning when complete, an error when half set up, nothing for riscv64", () => {
    const findings = lint("qemu-emulation.yml");
    expect(brief(findings)).toEqual(["10 emulated-native-available", "12 action-outdated", "31 foreign-system"]);
    expect(findings[0]!.severity).toBe("warning");
    expect(findings[0]!.fix).toContain("ubuntu-24.04-arm");
    expect(findings[1]!.message).toContain("checkout@v5");
    // Folded scalar: located on the installable's own line.
    expect(findings[2]!.message).toContain("no binfmt");
  });

  it("Linux on a macOS runner, darwin on a Linux runner, SHA pins, determinate: false", () => {
    const findings = lint("linux-on-macos.yml");
    expect(brief(findings)).toEqual([
      "7 action-broken", // checkout@<sha> # v3.5.2
      "8 action-outdated", // nix-installer-action@v21
      "10 installer-upstream-removed",
      "14 linux-on-macos-runner", // extra-platforms on macOS does not help
      "20 darwin-on-linux-runner",
    ]);
    expect(findings[3]!.message).toContain("macos-14");
    expect(findings[3]!.fix).toContain("ubuntu-24.04-arm");
    expect(findings[4]!.fix).toContain("macos-15");
  });

  it("a matrix read from the flake (nix-github-actions) only gets outdated-major warnings", () => {
    const findings = lint("nix-github-actions-template.yml");
    expect(brief(findings)).toEqual([
      "17 action-outdated",
      "18 action-outdated",
      "33 action-outdated",
      "34 action-outdated",
    ]);
    expect(findings.every((f) => f.severity === "warning")).toBe(true);
  });

  it("honours crossnix-lint: ignore comments (file-wide header, same line, line above)", () => {
    expect(lint("suppressed.yml")).toEqual([]);
    const unsuppressed = fixture("suppressed.yml").replace(/crossnix-lint: ignore/g, "no-op");
    expect(brief(lintWorkflow("x.yml", unsuppressed))).toEqual([
      "7 emulated-native-available",
      "15 action-outdated",
      "17 action-broken",
    ]);
  });

  it("reports YAML syntax errors with their position", () => {
    const findings = lint("syntax-error.yml");
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: "yaml-syntax", severity: "error" });
    expect(findings[0]!.line).toBeGreaterThan(1);
  });

  it("ignores files that are not workflows", () => {
    expect(lintWorkflow("action.yml", "name: x\nruns:\n  using: composite\n  steps: []\n")).toEqual([]);
    expect(lintWorkflow("empty.yml", "")).toEqual([]);
  });

  it("the schema validator used for generated workflows does reject broken ones", () => {
    expect(validateWorkflow("on: push\njobs:\n  a:\n    steps: 3\n").errors.length).toBeGreaterThan(0);
  });
});

describe("ci lint: focused rules", () => {
  const wf = (job: string, extra = "") => `on: push\n${extra}jobs:\n  j:\n${job}`;

  it("--system with a shell or matrix variable is not guessed at", () => {
    const text = wf(
      `    runs-on: ubuntu-24.04\n    steps:\n      - run: nix build --system \${{ matrix.system }} .#packages.$SYS.x\n`,
    );
    expect(lintWorkflow("w.yml", text)).toEqual([]);
  });

  it("i686-linux on x86_64 and a step guarded by if: are not foreign builds", () => {
    const text = wf(
      "    runs-on: ubuntu-24.04\n    steps:\n      - run: nix build .#packages.i686-linux.x\n      - if: runner.arch == 'ARM64'\n        run: nix build .#packages.aarch64-linux.x\n",
    );
    expect(lintWorkflow("w.yml", text)).toEqual([]);
  });

  it("self-hosted runners are not judged", () => {
    const text = wf(
      "    runs-on: [self-hosted, linux]\n    steps:\n      - run: nix build --system aarch64-linux .#x\n",
    );
    expect(lintWorkflow("w.yml", text)).toEqual([]);
  });

  it("a matrix of runners: the foreign build is reported for the runner it is foreign on", () => {
    const text = wf(
      `    strategy:\n      matrix:\n        os: [ubuntu-24.04-arm, ubuntu-24.04]\n    runs-on: \${{ matrix.os }}\n    steps:\n      - run: nix build .#packages.aarch64-linux.default\n`,
    );
    const findings = lintWorkflow("w.yml", text);
    expect(brief(findings)).toEqual(["9 foreign-system"]);
    expect(findings[0]!.message).toContain("'ubuntu-24.04'");
  });

  it("write-all grants id-token; read-all and no permissions at all do not", () => {
    const job = "    runs-on: ubuntu-24.04\n    steps:\n      - uses: DeterminateSystems/flakehub-cache-action@v3\n";
    expect(lintWorkflow("w.yml", wf(job, "permissions: write-all\n"))).toEqual([]);
    expect(brief(lintWorkflow("w.yml", wf(job, "permissions: read-all\n")))).toEqual(["7 flakehub-id-token"]);
    expect(brief(lintWorkflow("w.yml", wf(job)))).toEqual(["6 flakehub-id-token"]);
    expect(lintWorkflow("w.yml", wf(`    permissions:\n      id-token: write\n${job}`))).toEqual([]);
  });

  it("magic-nix-cache: v1–v9 broken, v10–v12 outdated, v13 and @main fine", () => {
    const at = (ref: string) =>
      lintWorkflow(
        "w.yml",
        wf(`    runs-on: ubuntu-24.04\n    steps:\n      - uses: DeterminateSystems/magic-nix-cache-action@${ref}\n`),
      ).map((f) => f.rule);
    expect(at("v1")).toEqual(["action-broken"]);
    expect(at("v9")).toEqual(["action-broken"]);
    expect(at("v10")).toEqual(["action-outdated"]);
    expect(at("v12.1.0")).toEqual(["action-outdated"]);
    expect(at("v13")).toEqual([]);
    expect(at("main")).toEqual([]);
  });

  it("install-nix-action below v31 and checkout v4/v5 are warnings, checkout v3 an error", () => {
    const rules = (uses: string) =>
      lintWorkflow("w.yml", wf(`    runs-on: ubuntu-24.04\n    steps:\n      - uses: ${uses}\n`)).map(
        (f) => `${f.severity} ${f.rule}`,
      );
    expect(rules("cachix/install-nix-action@v30")).toEqual(["warning action-outdated"]);
    expect(rules("cachix/install-nix-action@v31")).toEqual([]);
    expect(rules("actions/checkout@v5")).toEqual(["warning action-outdated"]);
    expect(rules("actions/checkout@v3")).toEqual(["error action-broken"]);
    expect(rules("actions/checkout@v6")).toEqual([]);
    expect(rules("Actions/Checkout@v2")).toEqual(["error action-broken"]);
  });
});

describe("ci lint: runner labels and shell reading", () => {
  it.each([
    ["ubuntu-latest", "x86_64-linux"],
    ["ubuntu-24.04", "x86_64-linux"],
    ["ubuntu-24.04-arm", "aarch64-linux"],
    ["ubuntu-22.04-arm", "aarch64-linux"],
    ["macos-latest", "aarch64-darwin"],
    ["macos-15", "aarch64-darwin"],
    ["macos-13", "x86_64-darwin"],
    ["macos-15-intel", "x86_64-darwin"],
    ["macos-14-large", "x86_64-darwin"],
    ["macos-14-xlarge", "aarch64-darwin"],
    ["windows-latest", null],
    ["my-runner", null],
  ])("%s runs %s", (label, system) => {
    expect(runnerSystem(label)).toBe(system);
  });

  it("joins continuation lines and splits on separators", () => {
    const commands = splitCommands(
      "nix build \\\n  --system aarch64-linux .#x && echo ok; ls | wc -l\n# nix build --system x\n",
    );
    expect(commands.map((c) => [c.words.join(" "), c.lines])).toEqual([
      ["nix build --system aarch64-linux .#x", [0, 1]],
      ["echo ok", [0, 1]],
      ["ls", [0, 1]],
      ["wc -l", [0, 1]],
    ]);
  });

  it("finds --system, --option system and per-system installables, through sudo and env", () => {
    const [a, b, c] = nixInvocations(
      "sudo nix build --impure --system=aarch64-linux\nenv FOO=1 nix --option system riscv64-linux build '.#checks.x86_64-linux.t'\nnix flake check\n",
    );
    expect(a).toMatchObject({ subcommand: "build", impure: true, systemFlag: "aarch64-linux" });
    expect(b!.targets.map((t) => t.system)).toEqual(["riscv64-linux", "x86_64-linux"]);
    expect(c).toMatchObject({ subcommand: "flake", targets: [] });
  });

  it("reads extra-platforms from nix.conf text and command lines", () => {
    expect(extraPlatformsIn("extra-platforms = aarch64-linux riscv64-linux\nsandbox = true\n")).toEqual([
      "aarch64-linux",
      "riscv64-linux",
    ]);
    expect(extraPlatformsIn("echo 'extra-platforms = aarch64-linux' | sudo tee -a /etc/nix/nix.conf")).toEqual([
      "aarch64-linux",
    ]);
    expect(extraPlatformsIn("nix build --option extra-platforms aarch64-linux .#x")).toEqual(["aarch64-linux"]);
    expect(extraPlatformsIn("echo hello")).toEqual([]);
  });
});
