// The `ci` commands through the real CLI: github, lint and flake-snippet.
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../helpers/cli.js";

// End to end: the built CLI (dist/cli.js, `npm run build` first) in a temporary repository.
// Nix 2.8 from Debian reads the systems of local flakes without inputs (no network).

const FIXTURES = new URL("../fixtures/workflows/", import.meta.url);
const hasNix = spawnSync("nix", ["--version"]).status === 0;
const skipNix = !hasNix && process.env["CROSSNIX_SKIP_INTEGRATION"] === "1";

let base: string;
let repo: string;
let home: string;
let emptyBin: string;
let n = 0;

/** Nix on this machine: flakes on, no sandbox (builders are /bin/sh), no substituters (no network). */
const NIX_CONFIG = "experimental-features = nix-command flakes\nsandbox = false\nsubstituters =\n";
const env = () => ({ HOME: home, NIX_CONFIG, CROSSNIX_ROOT: path.join(base, "root") });
const cli = (args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}) =>
  runCli(args, {
    cwd: options.cwd ?? repo,
    env: { ...env(), ...options.env },
    timeoutMs: 120_000,
    ...(options.input ? { input: options.input } : {}),
  });
const workflow = (p = ".github/workflows/nix.yml") => path.join(repo, p);
const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), "crossnix-ci-e2e-"));
  home = path.join(base, "home");
  emptyBin = path.join(base, "empty-bin");
  await mkdir(home);
  await mkdir(emptyBin);
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});
beforeEach(async () => {
  repo = path.join(base, `repo-${++n}`);
  await mkdir(repo);
});

/** A derivation this machine can build: /bin/sh as builder, no nixpkgs. */
const drv = (system: string, name = "hello") =>
  `derivation { name = "${name}"; system = "${system}"; builder = "/bin/sh"; args = [ "-c" "echo ${name} > $out" ]; }`;

describe("crossnix ci github → ci lint", () => {
  it("generates a workflow that validates and lints with 0 findings (human and --json)", async () => {
    const gen = await cli([
      "ci",
      "github",
      "--systems",
      "x86_64-linux,aarch64-linux,aarch64-darwin,x86_64-darwin",
      "--yes",
    ]);
    expect(gen.stderr).toBe("");
    expect(gen.code).toBe(0);
    expect(gen.stdout).toContain("create ");
    expect(gen.stdout).toContain("Applied: 1 file(s) changed.");
    const yaml = await readFile(workflow(), "utf8");
    expect(validateWorkflow(yaml).errors).toEqual([]);

    const lint = await cli(["ci", "lint"]);
    expect(lint.code).toBe(0);
    expect(lint.stdout).toContain("No problems found in 1 workflow file.");
    const json = await cli(["ci", "lint", "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      findings: [],
      files: [".github/workflows/nix.yml"],
      summary: { files: 1, errors: 0, warnings: 0 },
    });
  });

  it("is stable: the same command again is a visible no-op", async () => {
    const args = ["ci", "github", "--systems", "x86_64-linux", "--cache", "none", "--yes"];
    expect((await cli(args)).code).toBe(0);
    const first = await readFile(workflow(), "utf8");
    const again = await cli(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Nothing to change");
    expect(await readFile(workflow(), "utf8")).toBe(first);
  });

  it("rewriting with other options shows the diff; --dry-run writes nothing, --yes applies", async () => {
    expect((await cli(["ci", "github", "--systems", "x86_64-linux,aarch64-linux", "--yes"])).code).toBe(0);
    const before = await readFile(workflow(), "utf8");
    const dry = await cli([
      "ci",
      "github",
      "--systems",
      "x86_64-linux,aarch64-linux",
      "--cache",
      "flakehub",
      "--dry-run",
    ]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^modify .*nix\.yml/m);
    expect(dry.stdout).toContain("+  id-token: write");
    expect(dry.stdout).toContain("-        uses: DeterminateSystems/magic-nix-cache-action@v13");
    expect(dry.stdout).toContain("+        uses: DeterminateSystems/flakehub-cache-action@v3");
    expect(dry.stdout).toContain("Dry run: nothing was written.");
    expect(await readFile(workflow(), "utf8")).toBe(before);

    const apply = await cli([
      "ci",
      "github",
      "--systems",
      "x86_64-linux,aarch64-linux",
      "--cache",
      "flakehub",
      "--yes",
    ]);
    expect(apply.code).toBe(0);
    expect(await readFile(workflow(), "utf8")).toContain("id-token: write");
  });

  it("asks on a terminal, and without one and without --yes writes nothing and exits 1", async () => {
    const args = ["ci", "github", "--systems", "x86_64-linux"];
    const noTty = await cli(args);
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toContain("--yes");
    expect(await exists(workflow())).toBe(false);

    const declined = await cli(args, { env: { CROSSNIX_ASSUME_TTY: "1" }, input: "n\n" });
    expect(declined.code).toBe(1);
    expect(await exists(workflow())).toBe(false);
    const accepted = await cli(args, { env: { CROSSNIX_ASSUME_TTY: "1" }, input: "y\n" });
    expect(accepted.code).toBe(0);
    expect(await exists(workflow())).toBe(true);
  });

  it("refuses to overwrite a workflow crossnix did not write (exit 1) until --force, which shows the diff", async () => {
    const target = workflow();
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(new URL("seed-cross-build.yml", FIXTURES), target);
    const seed = await readFile(target, "utf8");

    const refused = await cli(["ci", "github", "--systems", "x86_64-linux", "--yes"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("not generated by crossnix");
    expect(refused.stderr).toContain("--force");
    expect(await readFile(target, "utf8")).toBe(seed);

    const refusedJson = await cli(["ci", "github", "--systems", "x86_64-linux", "--yes", "--json"]);
    expect(refusedJson.code).toBe(1);
    expect(JSON.parse(refusedJson.stdout).error.code).toBe("CONFLICT");

    const forced = await cli(["ci", "github", "--systems", "x86_64-linux", "--yes", "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("-      uses: DeterminateSystems/magic-nix-cache-action@v2");
    const replaced = await readFile(target, "utf8");
    expect(replaced).toMatch(/^# Generated by crossnix/);
  });

  it("--output writes elsewhere; --output - prints the workflow and touches nothing", async () => {
    const other = await cli(["ci", "github", "--systems", "aarch64-darwin", "--output", "ci/darwin.yaml", "--yes"]);
    expect(other.code).toBe(0);
    expect(await readFile(path.join(repo, "ci/darwin.yaml"), "utf8")).toContain("runner: macos-15");

    const printed = await cli(["ci", "github", "--systems", "x86_64-darwin", "--output", "-"]);
    expect(printed.code).toBe(0);
    expect(parse(printed.stdout).jobs.build.strategy.matrix.include).toEqual([
      { system: "x86_64-darwin", runner: "macos-15-intel" },
    ]);
    expect(await exists(workflow())).toBe(false);

    const json = await cli(["ci", "github", "--systems", "x86_64-linux", "--output", "-", "--json"]);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({
      systems: ["x86_64-linux"],
      systemsFrom: "--systems",
      installer: "determinate",
      cache: "magic-nix-cache",
    });
    expect(validateWorkflow(doc.workflow).errors).toEqual([]);
  });

  it("--json reports the applied plan", async () => {
    const run = await cli([
      "ci",
      "github",
      "--systems",
      "x86_64-linux",
      "--installer",
      "upstream",
      "--cache",
      "cachix:my-cache",
      "--yes",
      "--json",
    ]);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc).toMatchObject({ applied: true, installer: "upstream", cache: "cachix:my-cache", output: workflow() });
    expect(doc.plan.files[0]).toMatchObject({ action: "create", path: workflow() });
    expect(doc.plan.notes.join("\n")).toContain("CACHIX_AUTH_TOKEN");
  });

  it.each([
    [["--installer", "nixos"], "--installer", "nixos"],
    [["--cache", "redis"], "--cache", "redis"],
    [["--attr", "devShells"], "--attr", "devShells"],
    [["--systems", "x86_64-linux,arm64"], "--systems", "arm64"],
    [["--systems", "riscv64-linux"], "--systems", "riscv64-linux"],
  ])("bad value %j → exit 2 naming the field and value", async (extra, field, value) => {
    const args = ["ci", "github", ...(extra.includes("--systems") ? [] : ["--systems", "x86_64-linux"]), ...extra];
    const human = await cli(args);
    expect(human.code).toBe(2);
    expect(human.stderr).toContain(`invalid ${field} '${value}'`);
    const json = await cli([...args, "--json"]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: "BAD_INPUT", detail: { field, value } });
    expect(await exists(workflow())).toBe(false);
  });

  it("without --systems and without Nix: exit 2 asking for --systems", async () => {
    await writeFile(
      path.join(repo, "flake.nix"),
      `{ outputs = { self }: { packages.x86_64-linux.default = ${drv("x86_64-linux")}; }; }\n`,
    );
    const run = await cli(["ci", "github", "--yes"], { env: { PATH: emptyBin } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Nix is not available");
    expect(run.stderr).toContain("--systems");
    expect(await exists(workflow())).toBe(false);
  });

  it("without --systems and without a flake.nix: exit 2 asking for --systems", async () => {
    const run = await cli(["ci", "github", "--yes"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("no flake.nix");
    expect(run.stderr).toContain("--systems");
  });
});

describe.skipIf(skipNix)("crossnix ci github reads the flake's systems with nix eval", () => {
  it("uses the systems the flake's packages define, not legacyPackages look-alikes", async () => {
    // `nix eval .#packages` would find legacyPackages.<system>.packages first; crossnix must not.
    await writeFile(
      path.join(repo, "flake.nix"),
      `{
  outputs = { self }: {
    packages.x86_64-linux.default = ${drv("x86_64-linux")};
    packages.aarch64-linux.default = ${drv("aarch64-linux")};
    packages.aarch64-darwin.default = ${drv("aarch64-darwin")};
    packages.riscv64-linux.default = ${drv("riscv64-linux")};
    legacyPackages.x86_64-linux.packages = { trap = 1; };
    checks.x86_64-linux.unit = ${drv("x86_64-linux", "unit")};
  };
}
`,
    );
    const run = await cli(["ci", "github", "--yes", "--json"]);
    expect(run.stderr).not.toContain("error");
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc).toMatchObject({
      systemsFrom: "flake",
      systems: ["x86_64-linux", "aarch64-linux", "aarch64-darwin"],
      skipped: ["riscv64-linux"],
    });
    expect(doc.plan.notes.join("\n")).toContain("riscv64-linux");
    const yaml = await readFile(workflow(), "utf8");
    expect(yaml).toContain(
      "# crossnix ci github --systems x86_64-linux,aarch64-linux,aarch64-darwin --installer determinate",
    );

    const emulated = await cli(["ci", "github", "--yes", "--json", "--emulate"]);
    expect(JSON.parse(emulated.stdout)).toMatchObject({
      systems: ["x86_64-linux", "aarch64-linux", "aarch64-darwin", "riscv64-linux"],
      emulated: ["aarch64-linux", "riscv64-linux"],
      skipped: [],
    });
    expect((await cli(["ci", "lint"])).code).toBe(0);

    const checks = await cli(["ci", "github", "--attr", "checks", "--output", "-", "--json"]);
    expect(JSON.parse(checks.stdout).systems).toEqual(["x86_64-linux"]);
  });

  it("a flake without the output: exit 1 with a hint", async () => {
    await writeFile(
      path.join(repo, "flake.nix"),
      `{ outputs = { self }: { packages.x86_64-linux.default = ${drv("x86_64-linux")}; }; }\n`,
    );
    const run = await cli(["ci", "github", "--attr", "checks", "--yes"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("the flake has no 'checks' output");
    expect(run.stderr).toContain("--systems");
  });

  it("the generated build step really builds every package of the runner's system", async () => {
    const nonce = `${process.pid}-${Date.now()}`; // new derivations, so Nix really builds them
    await writeFile(
      path.join(repo, "flake.nix"),
      `{ outputs = { self }: { packages.x86_64-linux = { default = ${drv("x86_64-linux", `default-${nonce}`)}; other = ${drv("x86_64-linux", `other-${nonce}`)}; }; }; }\n`,
    );
    const gen = await cli(["ci", "github", "--systems", "x86_64-linux", "--output", "-"]);
    const steps = parse(gen.stdout).jobs.build.steps as { run?: string; env?: Record<string, string> }[];
    const build = steps.find((s) => s.run?.includes("nix build"))!;
    expect(build.env).toEqual({ SYSTEM: `\${{ matrix.system }}` });
    // As GitHub runs it: bash -e with pipefail, SYSTEM from the matrix.
    const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", build.run!], {
      cwd: repo,
      env: { ...process.env, ...env(), SYSTEM: "x86_64-linux" },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(result.stderr).not.toMatch(/^error:/m);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(`-default-${nonce}.drv`);
    expect(result.stderr).toContain(`-other-${nonce}.drv`);
  });
});

describe("crossnix ci lint", () => {
  async function seedRepo(files: Record<string, string>): Promise<void> {
    await mkdir(path.join(repo, ".github/workflows"), { recursive: true });
    for (const [name, fixture] of Object.entries(files))
      await copyFile(new URL(fixture, FIXTURES), path.join(repo, name));
  }

  it("the seed guide's workflow: findings grouped by file, exit 1", async () => {
    await seedRepo({
      ".github/workflows/cross-build.yml": "seed-cross-build.yml",
      ".github/workflows/nix.yaml": "generated-default.yml",
      ".github/workflows/notes.txt": "seed-cross-build.yml",
    });
    const run = await cli(["ci", "lint"]);
    expect(run.code).toBe(1);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toBe(".github/workflows/cross-build.yml");
    expect(run.stdout).toMatch(/^ {2}16:13 +error +DeterminateSystems\/magic-nix-cache-action@v2/m);
    expect(run.stdout).toMatch(/fix: +uses: DeterminateSystems\/magic-nix-cache-action@v13/);
    expect(run.stdout).toContain("2 errors, 4 warnings in 1 of 2 workflow files.");
    expect(run.stdout).not.toContain("nix.yaml\n");

    const json = await cli(["ci", "lint", "--json"]);
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout) as {
      findings: { file: string; line: number; rule: string; severity: string }[];
      files: string[];
    };
    expect(doc.files).toEqual([".github/workflows/cross-build.yml", ".github/workflows/nix.yaml"]);
    expect(doc.findings.map((f) => `${f.line} ${f.severity} ${f.rule}`)).toEqual([
      "10 warning action-outdated",
      "13 warning action-outdated",
      "16 error action-broken",
      "20 warning impure-not-cross",
      "20 error foreign-system",
      "24 warning impure-not-cross",
    ]);
  });

  it("warnings alone exit 0; named files and directories are linted", async () => {
    await mkdir(path.join(repo, "ci"));
    await copyFile(new URL("nix-github-actions-template.yml", FIXTURES), path.join(repo, "ci/matrix.yml"));
    await copyFile(new URL("flakehub-missing-id-token.yml", FIXTURES), path.join(repo, "ci/flakehub.yml"));
    const warnOnly = await cli(["ci", "lint", "ci/matrix.yml"]);
    expect(warnOnly.code).toBe(0);
    expect(warnOnly.stdout).toContain("0 errors, 4 warnings");
    const dir = await cli(["ci", "lint", "ci", "--json"]);
    expect(dir.code).toBe(1);
    expect(JSON.parse(dir.stdout).findings.map((f: { file: string; rule: string }) => `${f.file} ${f.rule}`)).toContain(
      "ci/flakehub.yml flakehub-id-token",
    );
  });

  it("no workflows: exit 0 and says so; a missing file: exit 2", async () => {
    const none = await cli(["ci", "lint"]);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain("No workflow files found");
    const missing = await cli(["ci", "lint", "nope.yml"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("invalid file 'nope.yml'");
  });
});

describe("crossnix ci flake-snippet", () => {
  it("prints genAttrs boilerplate, and flake-parts systems/perSystem with --flake-parts", async () => {
    const plain = await cli(["ci", "flake-snippet"]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain("nixpkgs.lib.genAttrs systems");
    expect(plain.stdout).toContain('systems = [ "x86_64-linux" "aarch64-linux" "aarch64-darwin" "x86_64-darwin" ];');
    const parts = await cli(["ci", "flake-snippet", "--flake-parts", "--systems", "aarch64-linux,x86_64-linux"]);
    expect(parts.code).toBe(0);
    expect(parts.stdout).toContain('systems = [ "x86_64-linux" "aarch64-linux" ];');
    expect(parts.stdout).toContain("perSystem = { pkgs, ... }: {");
    expect(parts.stdout).toContain("packages.default = pkgs.callPackage ./package.nix { };");
    const json = JSON.parse((await cli(["ci", "flake-snippet", "--json"])).stdout);
    expect(json).toMatchObject({
      flakeParts: false,
      systems: ["x86_64-linux", "aarch64-linux", "aarch64-darwin", "x86_64-darwin"],
    });
    const bad = await cli(["ci", "flake-snippet", "--systems", "linux"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("invalid --systems 'linux'");
  });

  it.skipIf(skipNix)("both snippets are valid Nix", async () => {
    for (const flags of [[], ["--flake-parts"]]) {
      const out = (await cli(["ci", "flake-snippet", ...flags])).stdout;
      const parsed = spawnSync("nix-instantiate", ["--parse", "-E", out], {
        encoding: "utf8",
        env: { ...process.env, HOME: home },
      });
      expect(parsed.stderr).toBe("");
      expect(parsed.status).toBe(0);
    }
  });

  it.skipIf(skipNix)(
    "the plain snippet evaluates to packages for every system, which ci github then reads",
    async () => {
      // A stand-in for nixpkgs with the two things the snippet uses: lib.genAttrs and legacyPackages.<system>.callPackage.
      const stub = path.join(base, `nixpkgs-stub-${n}`);
      await mkdir(stub);
      await writeFile(
        path.join(stub, "flake.nix"),
        `{
  outputs = { self }: let
    genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
  in {
    lib.genAttrs = genAttrs;
    legacyPackages = genAttrs [ "x86_64-linux" "aarch64-linux" "aarch64-darwin" "x86_64-darwin" ] (system: {
      callPackage = _fn: _args: derivation { name = "pkg"; inherit system; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; };
    });
  };
}
`,
      );
      const snippet = (await cli(["ci", "flake-snippet", "--systems", "x86_64-linux,aarch64-linux,aarch64-darwin"]))
        .stdout;
      await writeFile(
        path.join(repo, "flake.nix"),
        snippet.replace("github:NixOS/nixpkgs/nixos-unstable", `path:${stub}`),
      );
      const run = await cli(["ci", "github", "--output", "-", "--json"]);
      expect(run.stderr).not.toMatch(/error/);
      expect(JSON.parse(run.stdout).systems).toEqual(["x86_64-linux", "aarch64-linux", "aarch64-darwin"]);
    },
  );
});
