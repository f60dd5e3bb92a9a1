// `crossnix migrate` and `crossnix init` on recorded layouts: the new approach comes up and is proven
// by a build before anything old is retired; module-owned pieces become the Nix change to make.
import { appendFile, copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { init } from "../../src/app/approaches/init.js";
import { type MigrateResult, migrate } from "../../src/app/approaches/migrate.js";
import { isCrossnixError } from "../../src/errors.js";
import { userStateDir } from "../../src/host/system/records.js";
import { fixtureContext, fixtureOpener, scriptedPrompter } from "../helpers/approach-context.js";
import { type Fixture, HOME } from "../helpers/approach-fixtures.js";

const BENCH_RECORDS = fileURLToPath(new URL("../fixtures/approaches/bench/bench.jsonl", import.meta.url));
const open = fixtureOpener();
const read = (f: Fixture, p: string) => readFile(path.join(f.root, p), "utf8").catch(() => null);

describe("migrate --to native", () => {
  it("enables, proves with a Linux build, then removes the crossnix SSH builder it replaces", async () => {
    const f = await open("ssh-and-native-off");
    const r = await migrate(fixtureContext(f).ctx, { to: "native", from: "ssh:big", build: true });
    expect(r.steps.map((s) => [s.phase, s.status])).toEqual([
      ["bring-up", "done"],
      ["prove", "done"],
      ["retire", "done"],
    ]);
    expect(r.proven).toBe(true);
    expect(r.retired).toBe(true);
    expect(await read(f, "etc/determinate/config.json")).toContain('"builder": {"state":"enabled"}');
    expect(await read(f, "etc/nix/machines")).toBe("");
    expect(await read(f, "etc/nix/crossnix/big_ed25519")).toBeNull();
    expect(await read(f, "etc/ssh/ssh_config.d/crossnix.conf")).not.toContain("Host big");
  });

  it("not granted: the native builder does not come up, so the SSH builder is kept", async () => {
    const f = await open("ssh-and-native-off");
    await rm(path.join(f.state, "granted"));
    const machines = await read(f, "etc/nix/machines");
    const r = await migrate(fixtureContext(f).ctx, { to: "native", from: "ssh:big", build: true });
    expect(r.steps.map((s) => [s.phase, s.status])).toEqual([
      ["bring-up", "failed"],
      ["retire", "skipped"],
    ]);
    expect(r.steps[0]?.text).toContain("the native builder is not granted to this account");
    expect(r.retired).toBe(false);
    expect(await read(f, "etc/nix/machines")).toBe(machines);
    expect(await read(f, "etc/nix/crossnix/big_ed25519")).toBe("PRIVATE KEY\n");
  });

  it("the build fails after the builder came up: nothing is retired and the error says so", async () => {
    const f = await open("ssh-and-native-off");
    // The daemon takes the setting, but the build does not get through (the nix-build stand-in refuses).
    await writeFile(path.join(f.state, "nix-build"), "#!/bin/sh\necho 'error: build failed' >&2\nexit 1\n", {
      mode: 0o755,
    });
    const { ctx } = fixtureContext(f);
    const host = { ...ctx.host, env: { ...ctx.host.env, PATH: `${f.state}:${f.env["PATH"]}` } };
    const error = await migrate({ ...ctx, host }, { to: "native", from: "ssh:big", build: true }).catch(
      (e: unknown) => e,
    );
    expect(isCrossnixError(error) && error.code).toBe("CHECK_FAILED");
    expect(isCrossnixError(error) && error.message).toBe(
      "the new approach (native) did not build, so nothing old was retired",
    );
    expect(await read(f, "etc/nix/crossnix/big_ed25519")).toBe("PRIVATE KEY\n");
  });

  it("from nix-rosetta-builder: the Nix change and the leftovers are named, nothing module-owned is touched", async () => {
    const f = await open("rosetta-builder-lost");
    const { ctx } = fixtureContext(f);
    // Grant the account so the native builder comes up and proves itself.
    await Promise.all([writeFile(path.join(f.state, "granted"), ""), writeFile(path.join(f.state, "logged-in"), "")]);
    const r = await migrate(ctx, { to: "native", from: "nix-rosetta-builder", build: true });
    expect(r.nixChanges).toEqual(["nix-rosetta-builder.enable = false;"]);
    expect(r.steps.filter((s) => s.phase === "retire").map((s) => s.text)).toEqual([
      "nix-rosetta-builder: set nix-rosetta-builder.enable = false; (nix-rosetta-builder is a nix-darwin module: it owns /etc/ssh/ssh_config.d/100-rosetta-builder.conf, its launchd job and its machines line)",
      "nix-rosetta-builder: remove the workdir and user _rosettabuilder (removed only while the module is still imported with enable = false; dropping the input leaves them): /var/lib/rosetta-builder, user _rosettabuilder (349)",
    ]);
    expect(await read(f, "etc/ssh/ssh_config.d/100-rosetta-builder.conf")).toContain("Port 31122");
  });

  it("the determinate module owns config.json: prints the option and stops before retiring", async () => {
    const f = await open("native-module");
    const r = await migrate(fixtureContext(f).ctx, { to: "native", build: true });
    expect(r.nixChanges).toEqual(['determinateNix.determinateNixd.builder.state = "enabled";']);
    expect(r.retired).toBe(false);
  });
});

describe("migrate from the guide's manual setup", () => {
  it("--dry-run shows the whole migration and writes nothing", async () => {
    const f = await open("manual");
    await copyFile(path.join(f.root, HOME, ".config/nix/machines"), path.join(f.root, "etc/nix/machines"));
    const before = await read(f, "etc/nix/machines");
    const { ctx, seen } = fixtureContext(f, { dryRun: true });
    const r = await migrate(ctx, { to: "native", from: "manual", build: true });
    expect(seen.out.join("\n")).toContain(
      "# crossnix migrate (system-first line, replaced): aarch64-linux ssh://user@remote-builder",
    );
    expect(r.steps.map((s) => `${s.phase} ${s.status}: ${s.text}`)).toEqual([
      "prepare planned: /etc/nix/machines: comment out lines 1, 2",
      'bring-up planned: native builder: builder.state = "enabled", daemon restarted',
      `retire for-you: manual:user@remote-builder: remove NIX_REMOTE_SYSTEMS (crossnix does not edit shell profiles): ${HOME}/.zshrc:2`,
      `retire for-you: manual:user@remote-builder: remove a machines file Nix never reads: ${HOME}/.config/nix/machines:1`,
      `retire for-you: manual:user@remote-builder: remove a machines file Nix never reads: ${HOME}/.config/nix/machines:2`,
    ]);
    expect(await read(f, "etc/nix/machines")).toBe(before);
  });

  it("--dry-run --to ssh with the guide's lines in /etc/nix/machines: the add is planned after them", async () => {
    const f = await open("manual");
    await copyFile(path.join(f.root, HOME, ".config/nix/machines"), path.join(f.root, "etc/nix/machines"));
    const r = await migrate(fixtureContext(f, { dryRun: true }).ctx, {
      to: "ssh:user@remote-builder",
      from: "manual",
      build: true,
    });
    expect(r.steps.slice(0, 2).map((s) => `${s.phase} ${s.status}: ${s.text}`)).toEqual([
      "prepare planned: /etc/nix/machines: comment out lines 1, 2",
      "bring-up planned: crossnix builder add user@remote-builder --copy-key: probe, pin its host key, register it (its plan is shown once the lines above are commented out)",
    ]);
  });

  it("--to lima without Lima: the bring-up fails with the fix, and nothing is retired", async () => {
    const f = await open("manual");
    const r = await migrate(fixtureContext(f).ctx, { to: "lima", from: "manual", build: true });
    expect(r.steps.map((s) => `${s.phase} ${s.status}: ${s.text}`)).toEqual([
      "bring-up failed: Lima VM nixbuilder did not come up: limactl is not installed (Lima runs the VM) (brew install lima)",
      "retire skipped: deferred: nothing is retired until lima is up and a build on it succeeds; then run crossnix migrate --to lima --from manual",
    ]);
    expect(r.retired).toBe(false);
    expect(r.retireLater).toBe("crossnix migrate --to lima --from manual");
  });

  it("a hand-written machines file beside a nix-darwin module: warns about darwin-rebuild's Unexpected files", async () => {
    const f = await open("virby");
    const r = await migrate(fixtureContext(f).ctx, { to: "lima", from: "virby", build: true });
    expect(r.warnings).toEqual([
      'crossnix writes /etc/nix/machines and /etc/ssh/ssh_config.d/crossnix.conf by hand. If you later let nix-darwin or the Determinate module manage them (nix.buildMachines, determinateNix.buildMachines, a linux-builder), darwin-rebuild stops with "error: Unexpected files in /etc, aborting activation": rename them to *.before-nix-darwin first.',
    ]);
    // The VM is not up yet, so Virby stays, and its Nix change waits for the run that retires it.
    expect(r.nixChanges).toEqual([]);
    expect(r).toMatchObject({ retired: false, retireLater: "crossnix migrate --to lima --from virby" });
  });

  it("an unknown --from is bad input naming what is present", async () => {
    const f = await open("manual");
    const error = await migrate(fixtureContext(f).ctx, { to: "native", from: "virby", build: true }).catch(
      (e: unknown) => e,
    );
    expect(isCrossnixError(error) && [error.exitCode, error.message]).toEqual([
      2,
      "invalid --from 'virby': this machine has no such approach (present: manual:user@remote-builder)",
    ]);
  });
});

describe("migrate --to linux-builder (only nix-darwin can set it up)", () => {
  const DETERMINATE_ASSERTION =
    'Determinate Nix runs nix-darwin with nix.enable = false, and then nix.linux-builder.enable = true stops darwin-rebuild with "nix.linux-builder.enable requires nix.enable" (nix-darwin#1505): set Determinate\'s own determinateNix.nixosVmBasedLinuxBuilder instead (the same nixpkgs VM).';

  it("under Determinate: the module's own VM builder option, the assertion named, retirement deferred", async () => {
    const f = await open("manual");
    const r = await migrate(fixtureContext(f).ctx, { to: "linux-builder", from: "manual", build: true });
    expect(r.nixChanges).toEqual([
      "determinateNix.nixosVmBasedLinuxBuilder.enable = true;  # nix.linux-builder needs nix.enable, which Determinate turns off",
    ]);
    expect(r.warnings).toEqual([DETERMINATE_ASSERTION]);
    expect(r.steps.map((s) => `${s.phase} ${s.status}: ${s.text}`)).toEqual([
      "bring-up for-you: set determinateNix.nixosVmBasedLinuxBuilder.enable = true; in your nix-darwin configuration and run darwin-rebuild switch",
      "retire skipped: deferred: nothing is retired until linux-builder is up and a build on it succeeds; then run crossnix migrate --to linux-builder --from manual",
    ]);
    expect(r).toMatchObject({
      proven: null,
      retired: false,
      retireLater: "crossnix migrate --to linux-builder --from manual",
    });
  });

  it("--dry-run: the retirement is shown deferred, not planned, since darwin-rebuild comes first", async () => {
    const f = await open("manual");
    const r = await migrate(fixtureContext(f, { dryRun: true }).ctx, {
      to: "linux-builder",
      from: "manual",
      build: true,
    });
    expect(r.steps.map((s) => [s.phase, s.status])).toEqual([
      ["bring-up", "for-you"],
      ["retire", "skipped"],
    ]);
    expect(r.retireLater).toBe("crossnix migrate --to linux-builder --from manual");
  });

  it("the native builder in use: warns that the Determinate module turns it off at the same switch", async () => {
    const f = await open("native-granted");
    const r = await migrate(fixtureContext(f).ctx, { to: "linux-builder", build: true });
    expect(r.warnings).toEqual([
      DETERMINATE_ASSERTION,
      'determinateNix.nixosVmBasedLinuxBuilder also sets builder.state = "disabled": the native builder stops at that darwin-rebuild switch, before the VM builder is proven.',
    ]);
    expect(r.retireLater).toBe("crossnix migrate --to linux-builder");
    expect(await read(f, "etc/determinate/config.json")).not.toContain('"disabled"');
  });

  it("upstream Nix: a linux-builder that lost its machines line is not up, so nix.linux-builder is the change", async () => {
    const f = await open("linux-builder");
    await rm(path.join(f.root, "etc/static/nix/machines"));
    const r = await migrate(fixtureContext(f).ctx, { to: "linux-builder", build: true });
    expect(r.nixChanges).toEqual(["nix.linux-builder.enable = true;"]);
    expect(r.warnings).toEqual([]);
    expect(r.steps.map((s) => [s.phase, s.status])).toEqual([
      ["bring-up", "for-you"],
      ["retire", "skipped"],
    ]);
  });

  it("after darwin-rebuild: the VM builder is found and must build before anything is retired", async () => {
    const f = await open("determinate-vm-builder");
    const { ctx } = fixtureContext(f);
    const host = {
      ...ctx.host,
      env: { ...ctx.host.env, NIX_REMOTE_SYSTEMS: "aarch64-linux=user@remote-builder" },
    };
    const error = await migrate({ ...ctx, host }, { to: "linux-builder", from: "manual", build: true }).catch(
      (e: unknown) => e,
    );
    expect(isCrossnixError(error) && error.message).toBe(
      "the new approach (linux-builder) did not build, so nothing old was retired",
    );
    const migration = isCrossnixError(error) ? (error.detail as { migration: MigrateResult }).migration : null;
    // The fixture has no daemon, so doctor's build is not attempted: not proven, nothing retired.
    expect(migration?.steps.map((s) => `${s.phase} ${s.status}: ${s.text}`)).toEqual([
      "bring-up done: Determinate module VM builder is set up by nix-darwin (machines host nixos-vm-based-linux-builder)",
      "prove failed: the build on nixos-vm-based-linux-builder failed: no build ran (not attempted: nix.daemon failed)",
      "retire skipped: nothing retired: the old approach stays as it was",
    ]);
  });
});

describe("init", () => {
  it("recommends native when the account is granted, and --yes sets it up", async () => {
    const f = await open("native-off");
    const { ctx, seen } = fixtureContext(f);
    const r = await init(ctx, { doctor: false });
    expect(r.recommendation.approach).toBe("native");
    expect(r.recommendation.reasons[0]).toBe(
      "Determinate Nix 3.15.1 has the native builder and this account is granted it",
    );
    expect(seen.out[0]).toContain("Recommended: native");
    expect(r.setup.steps).toEqual([{ phase: "bring-up", text: "native builder enabled and in use", status: "done" }]);
  });

  it("the guide's setup: recommends an SSH builder at the destination it names, with why", async () => {
    const f = await open("manual");
    const { ctx } = fixtureContext(f, { dryRun: true });
    const r = await init(ctx, { approach: "native", doctor: false });
    expect(r.recommendation).toMatchObject({
      approach: "ssh:user@remote-builder",
      reasons: [
        "your hand-made setup (from a guide) names user@remote-builder for aarch64-linux, x86_64-linux, but Nix reads no builder from it",
        "crossnix migrate --from manual --to ssh:user@remote-builder then retires the old lines",
      ],
    });
    expect(r.chosen).toBe("native");
  });

  describe("with crossnix bench's recorded history", () => {
    // A second crossnix builder "small", listed before "big", so only the figures make big the choice.
    const withBench = async (f: Fixture) => {
      const machines = path.join(f.root, "etc/nix/machines");
      await writeFile(
        machines,
        `ssh-ng://small x86_64-linux /etc/nix/crossnix/small_ed25519 2 1 - - c3NoLWVkMjU1MTkgQUFBQg== # crossnix:small\n${await readFile(machines, "utf8")}`,
      );
      await writeFile(path.join(f.root, "etc/nix/crossnix/small_ed25519"), "PRIVATE KEY\n");
      await appendFile(
        path.join(f.root, "etc/ssh/ssh_config.d/crossnix.conf"),
        "Host small\n  # managed by crossnix\n  HostName 127.0.0.8\n  Port 22\n  User nix\n  IdentityFile /etc/nix/crossnix/small_ed25519\n  IdentitiesOnly yes\n  HostKeyAlias small\n",
      );
      const { ctx, seen } = fixtureContext(f, { dryRun: true });
      const host = { ...ctx.host, now: () => new Date("2026-12-03T09:00:00Z") };
      const state = userStateDir(host);
      await mkdir(state, { recursive: true });
      await copyFile(BENCH_RECORDS, path.join(state, "bench.jsonl"));
      return { ctx: { ...ctx, host }, seen };
    };

    it("recommends the SSH builder bench measured fastest, with its figures as the reason", async () => {
      const f = await open("ssh-and-native-off");
      await rm(path.join(f.state, "granted"));
      const { ctx, seen } = await withBench(f);
      const r = await init(ctx, { approach: "native", doctor: false });
      expect(r.recommendation.approach).toBe("ssh:big");
      expect(r.recommendation.reasons).toEqual([
        "ssh:big is already configured (x86_64-linux)",
        "big: 3.1 benchmark units/s on x86_64-linux (8 at a time), 12 ms SSH round trip, measured 2026-12-02",
        "the fastest of the 2 SSH builders crossnix bench measured",
      ]);
      expect(seen.out[0]).toContain("  because big: 3.1 benchmark units/s on x86_64-linux");
    });

    it("native granted: the measured SSH builder is the alternative, with its figures", async () => {
      const f = await open("ssh-and-native-off");
      const { ctx } = await withBench(f);
      const r = await init(ctx, { approach: "native", doctor: false });
      expect(r.recommendation.approach).toBe("native");
      expect(r.recommendation.alternatives).toEqual([
        {
          approach: "ssh:big",
          why: "already configured; keep it as a second builder (big: 3.1 benchmark units/s on x86_64-linux (8 at a time), 12 ms SSH round trip, measured 2026-12-02)",
        },
      ]);
    });
  });

  it("asks only what it must: the approach, then the destination for SSH", async () => {
    const f = await open("native-off");
    await rm(path.join(f.state, "granted"));
    const prompt = scriptedPrompter(["ssh", "nix@build-box"]);
    const { ctx } = fixtureContext(f, { yes: false, dryRun: true }, prompt);
    const error = await init(ctx, { doctor: false }).catch((e: unknown) => e);
    expect(prompt.asked).toEqual([
      "How should this machine build Linux? (native, lima, ssh) [ssh]",
      "SSH destination (user@host):",
    ]);
    // The destination does not resolve here: the add refuses before writing.
    expect(isCrossnixError(error)).toBe(true);
  });

  it("without a terminal or --approach, an SSH recommendation needs a destination (exit 2)", async () => {
    const f = await open("native-off");
    await rm(path.join(f.state, "granted"));
    const error = await init(fixtureContext(f, { yes: false }).ctx, { doctor: false }).catch((e: unknown) => e);
    expect(isCrossnixError(error) && [error.exitCode, error.hint]).toEqual([2, "pass --approach ssh:<user@host>"]);
  });
});
