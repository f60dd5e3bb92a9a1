// crossnix bench on real builders: two loopback builders made unequal for real (a CPU quota on one
// builder's sshd cgroup), measured through the sandbox's root daemon, then calibrated.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertTestbedReady,
  type Builder,
  type CpuQuota,
  clientIdentity,
  createSandbox,
  limitCpu,
  type Sandbox,
  startBuilders,
} from "#testbed";
import { useTestBed } from "#testbed/vitest";
import { buildsBy, buildsReportIn, succeededOn } from "../helpers/builds-report.js";
import { crossnixIn } from "../helpers/sandbox-cli.js";

const ready = useTestBed();
const KEY = "/etc/nix/bench_client_ed25519";
/** A short unit (~0.3 s here) keeps the test bed free for others; the ordering does not depend on it. */
const SHORT = ["--iterations", "200000", "--runs", "1"];

interface Proposal {
  name: string;
  speedFactor: { value: number; current: number | null; why: string };
  maxJobs: { value: number; current: number | null; why: string };
}

describe.skipIf(!ready)("bench on two unequal builders", () => {
  let fast: Builder;
  let slow: Builder;
  let sandbox: Sandbox;
  let quota: CpuQuota | undefined;
  // bench.jsonl goes to the run's own directory, never to this machine's /root.
  const state = () => `${sandbox.tmpDir}/state`;
  const crossnix = (args: string[]) =>
    crossnixIn(sandbox, args, { timeoutMs: 300_000, env: { XDG_STATE_HOME: state() } });
  const machines = () => sandbox.readFile("/etc/nix/machines");
  const entry = (name: string) =>
    machines()
      .split("\n")
      .find((l) => l.endsWith(`# crossnix:${name}`)) ?? "";

  beforeAll(async () => {
    assertTestbedReady();
    [fast, slow] = (await startBuilders([{ systems: ["x86_64-linux"] }, { systems: ["x86_64-linux"] }])) as [
      Builder,
      Builder,
    ];
    sandbox = await createSandbox({ nixConf: "max-jobs = 0" });
    sandbox.writeFile(KEY, fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8"), 0o600);
    for (const [b, name] of [
      [fast, "fast"],
      [slow, "slow"],
    ] as const) {
      const add = await crossnix([
        "builder",
        "add",
        `${b.user}@${b.address}:${b.port}`,
        "--name",
        name,
        "--identity",
        KEY,
        "--yes",
      ]);
      expect(add.exitCode, add.stderr + add.stdout).toBe(0);
    }
    // A quarter of one CPU for everything the slow builder's sshd starts from now on.
    quota = limitCpu(slow, 0.25);
  }, 120_000);
  afterAll(async () => {
    quota?.remove();
    await sandbox?.stop();
  });

  it("bad input exits 2 and writes nothing: an unknown builder, --jobs 0", async () => {
    const before = machines();
    const unknown = await crossnix(["bench", "nosuch"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("no builder named 'nosuch'");
    const zero = await crossnix(["bench", "--jobs", "0"]);
    expect(zero.exitCode).toBe(2);
    expect(zero.stderr).toContain("invalid --jobs '0'");
    const pollAlone = await crossnix(["bench", "--poll-interval", "0"]);
    expect(pollAlone.exitCode).toBe(2);
    expect(pollAlone.stderr).toContain("invalid --poll-interval '0'");
    expect(machines()).toBe(before);
  });

  it("never runs on a disabled builder, and says why", async () => {
    expect((await crossnix(["builder", "disable", "slow", "--yes"])).exitCode).toBe(0);
    try {
      const run = await crossnix(["bench", "slow", "--json", ...SHORT]);
      expect(run.exitCode).toBe(1);
      const json = JSON.parse(run.stdout) as { builders: { name: string; status: string; reason: string }[] };
      expect(json.builders).toEqual([
        expect.objectContaining({ name: "slow", status: "skipped", reason: expect.stringMatching(/^disabled at /) }),
      ]);
    } finally {
      expect((await crossnix(["builder", "enable", "slow", "--yes"])).exitCode).toBe(0);
    }
  });

  it("never runs on a builder failing doctor's connect checks, and says which", async () => {
    await slow.setFault("keyMissing");
    try {
      const run = await crossnix(["bench", "slow", "--json", ...SHORT]);
      expect(run.exitCode).toBe(1);
      const json = JSON.parse(run.stdout) as { builders: { name: string; status: string; reason: string }[] };
      expect(json.builders[0]).toMatchObject({ name: "slow", status: "skipped" });
      expect(json.builders[0]!.reason).toMatch(/^fails doctor's connect checks: builder\.auth: /);
    } finally {
      await slow.setFault("keyMissing", false);
    }
  });

  it("a builder that fails mid-bench is reported and left out; the others are still measured", async () => {
    const before = machines();
    // The entry now claims a system the builder cannot build: its x86_64 figures come first, then
    // its riscv64 benchmark build fails on the builder, as a builder that goes away would.
    sandbox.writeFile("/etc/nix/machines", before.replace(/^(ssh-ng:\/\/slow x86_64-linux) /m, "$1,riscv64-linux "));
    try {
      const run = await crossnix(["bench", "--json", "--iterations", "100000", "--runs", "1"]);
      expect(run.exitCode, run.stderr).toBe(0);
      const json = JSON.parse(run.stdout) as {
        builders: { name: string; status: string; reason: string | null; systems: { system: string }[] }[];
      };
      expect(json.builders.map((b) => [b.name, b.status])).toEqual([
        ["fast", "measured"],
        ["slow", "failed"],
      ]);
      expect(json.builders[1]!.reason).toMatch(/^riscv64-linux benchmark build: /);
      expect(run.stderr).toContain("slow failed during the riscv64-linux benchmark build");
    } finally {
      sandbox.writeFile("/etc/nix/machines", before);
    }
  });

  it("--calibrate --dry-run measures both and proposes the faster one the higher speed factor, changing nothing", async () => {
    const before = { machines: machines(), conf: sandbox.readFile("/etc/nix/nix.conf") };
    const run = await crossnix(["bench", "--calibrate", "--dry-run", "--json", ...SHORT]);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    const json = JSON.parse(run.stdout) as {
      run: { builders: { name: string; status: string }[] };
      calibration: { entries: Proposal[]; pollInterval: { value: number } | null };
      outcome: { applied: boolean };
    };
    expect(json.run.builders.map((b) => [b.name, b.status])).toEqual([
      ["fast", "measured"],
      ["slow", "measured"],
    ]);
    const [f, s] = ["fast", "slow"].map((n) => json.calibration.entries.find((e) => e.name === n)!);
    expect(s!.speedFactor.value).toBe(1);
    expect(f!.speedFactor.value).toBeGreaterThan(1);
    // Nix 2.8 divides whole numbers: only whole factors are proposed.
    expect(Number.isInteger(f!.speedFactor.value)).toBe(true);
    expect(json.calibration.pollInterval?.value).toBe(1);
    expect(json.outcome.applied).toBe(false);
    expect({ machines: machines(), conf: sandbox.readFile("/etc/nix/nix.conf") }).toEqual(before);
  });

  it("records its builds in the build history, tagged bench, per builder (crossnix builds --json)", async () => {
    const report = await buildsReportIn(sandbox, { XDG_STATE_HOME: state() });
    expect(buildsBy(report, "bench")).toBeGreaterThan(0);
    for (const name of ["fast", "slow"]) expect(succeededOn(report, name), name).toBeGreaterThan(0);
  });

  it("--calibrate --yes writes the speed-factor ordering and max-jobs, sets build-poll-interval where the daemon reads it and restarts it", async () => {
    const run = await crossnix(["bench", "--calibrate", "--yes", ...SHORT]);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain("--- a/etc/nix/machines");
    expect(run.stdout).toMatch(/ran: \S+ \S+cli\.js internal restart-daemon/);
    const column = (line: string, i: number) => Number(line.split(/\s+/)[i]);
    // columns: uri systems key max-jobs speed-factor …
    expect(column(entry("fast"), 4)).toBeGreaterThan(column(entry("slow"), 4));
    expect(column(entry("slow"), 4)).toBe(1);
    // A quarter CPU runs two jobs no faster than one (max-jobs may still be 2: a slot is also held
    // for SSH and copies, which use no CPU there; docs/scheduling.md).
    const speedup = /slow: max-jobs \d+: 2 at a time gave ([\d.]+)× the throughput of one/.exec(run.stdout);
    expect(speedup, run.stdout).not.toBeNull();
    expect(Number(speedup![1])).toBeLessThan(1.5);
    expect(column(entry("slow"), 3)).toBeLessThanOrEqual(2);
    expect(sandbox.readFile("/etc/nix/nix.conf")).toMatch(/^build-poll-interval = 1$/m);
    // The daemon started after the change: doctor's own check of that.
    const doctor = await crossnix(["doctor", "--no-build", "--json"]);
    const checks = (JSON.parse(doctor.stdout) as { checks: { id: string; status: string; observed: string }[] }).checks;
    expect(checks.find((c) => c.id === "config.daemon-stale")).toMatchObject({ status: "ok" });
    // bench.jsonl holds one record per run that measured: the mid-bench failure's and this one
    // (the disabled-only run measured nothing and --dry-run records nothing).
    const records = fs
      .readFileSync(`${state()}/crossnix/bench.jsonl`, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; builders: { name: string; status: string }[] });
    expect(records.map((r) => r.builders.map((b) => `${b.name}:${b.status}`))).toEqual([
      ["fast:measured", "slow:failed"],
      ["fast:measured", "slow:measured"],
    ]);
  });

  it("--calibrate writes cores into each builder's own nix.conf through sudo there, restarting a daemon only where there is one; --dry-run changes nothing; a builder without sudo is reported, the rest stands", async () => {
    const [md] = (await startBuilders([{ systems: ["x86_64-linux"], multiUser: true, sudo: true }])) as [Builder];
    const identity = fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8");
    // root's own SSH login, which the builders' plans connect with (as builder setup-remote does).
    sandbox.writeFile("/root/.ssh/id_ed25519", identity, 0o600);
    fast.setSudo(true);
    const confOf = (b: Builder) => fs.readFileSync(`${b.etcNixDir}/nix.conf`, "utf8");
    const starts = () => md.daemonJournal().filter((l) => l.startsWith("started")).length;
    try {
      const add = await crossnix([
        "builder",
        "add",
        `${md.user}@${md.address}:${md.port}`,
        "--name",
        "md",
        "--identity",
        KEY,
        "--yes",
      ]);
      expect(add.exitCode, add.stderr + add.stdout).toBe(0);
      const before = { fast: confOf(fast), md: confOf(md), starts: starts(), machines: machines() };
      type Result = {
        calibration: { entries: (Proposal & { cores: { value: number } | null })[] };
        builders: { builder: string; cores: number; status: string; message: string }[];
      };
      const dry = await crossnix(["bench", "fast", "md", "--calibrate", "--dry-run", "--json", ...SHORT]);
      expect(dry.exitCode, dry.stderr + dry.stdout).toBe(0);
      const dryJson = JSON.parse(dry.stdout) as Result;
      expect(dryJson.builders.map((b) => [b.builder, b.status])).toEqual([
        ["fast", "dry-run"],
        ["md", "dry-run"],
      ]);
      expect({ fast: confOf(fast), md: confOf(md), starts: starts(), machines: machines() }).toEqual(before);

      // Without sudo on fast: this machine's calibration and md's cores stand; fast is reported.
      fast.setSudo(false);
      const refused = await crossnix(["bench", "fast", "md", "--calibrate", "--yes", "--json", ...SHORT]);
      expect(refused.exitCode, refused.stderr + refused.stdout).toBe(0);
      const refusedJson = JSON.parse(refused.stdout) as Result;
      expect(refusedJson.builders.map((b) => [b.builder, b.status])).toEqual([
        ["fast", "failed"],
        ["md", "changed"],
      ]);
      expect(refusedJson.builders[0]!.message).toMatch(
        /^fast: cores = \d+ not written: sudo on \S+ did not run the change/,
      );
      expect(confOf(fast)).toBe(before.fast);
      expect(machines()).not.toBe(before.machines);
      // md's daemon runs the builds and reads nix.conf at start: restarted.
      expect(starts()).toBeGreaterThan(before.starts);
      expect(refusedJson.builders[1]!.message).toContain("restarted its Nix daemon");

      fast.setSudo(true);
      const run = await crossnix(["bench", "fast", "md", "--calibrate", "--yes", "--json", ...SHORT]);
      expect(run.exitCode, run.stderr + run.stdout).toBe(0);
      const json = JSON.parse(run.stdout) as Result;
      const cores = Object.fromEntries(json.calibration.entries.map((e) => [e.name, e.cores!.value]));
      expect(json.builders[0]).toMatchObject({ builder: "fast", status: "changed" });
      // fast has no daemon: each SSH session's own Nix reads the file.
      expect(json.builders[0]!.message).toContain("runs no Nix daemon");
      expect(confOf(fast)).toMatch(new RegExp(`^cores = ${cores["fast"]}$`, "m"));
      expect(confOf(md)).toMatch(new RegExp(`^cores = ${cores["md"]}$`, "m"));
    } finally {
      fast.setSudo(false);
      await crossnix(["builder", "remove", "md", "--yes"]);
      await md.stop();
    }
  }, 180_000);

  it("--compare measures each SSH builder (a crossnix VM labelled as one), this machine and qemu-user emulation for real, and says why the native builder is not here", async () => {
    const conf = sandbox.readFile("/etc/nix/nix.conf");
    // What `crossnix emulate aarch64-linux` leaves: the daemon lists the system; binfmt_misc runs it.
    sandbox.writeFile("/etc/nix/nix.conf", `${conf}extra-platforms = i686-linux aarch64-linux\n`);
    await sandbox.restartDaemon();
    // `fast` stands in for a VM crossnix made: its record names it as the VM's builder.
    const record = "/etc/nix/crossnix/vms/fastvm.json";
    sandbox.writeFile(
      record,
      JSON.stringify({
        name: "fastvm",
        limaHome: "/Users/me/.lima",
        owner: "me",
        sshPort: 60022,
        builderName: "fast",
        systems: ["x86_64-linux"],
        rosetta: false,
        cpus: 2,
        memoryGiB: 4,
        diskGiB: 40,
        autostart: "login",
        createdAt: "2026-12-03T00:00:00Z",
      }),
    );
    try {
      const run = await crossnix([
        "bench",
        "fast",
        "--compare",
        "--json",
        "--iterations",
        "100000",
        "--runs",
        "1",
        "--jobs",
        "2",
      ]);
      expect(run.exitCode, run.stderr + run.stdout).toBe(0);
      type Row = {
        approach: string;
        name: string;
        system: string;
        measured: boolean;
        why: string | null;
        unitKind: string;
        unit: { median: number } | null;
        throughput: number | null;
        firstBuild: { median: number } | null;
        setup: string;
      };
      const rows = (JSON.parse(run.stdout) as { rows: Row[] }).rows;
      expect(rows.map((r) => [r.approach, r.system, r.measured])).toEqual([
        ["vm", "x86_64-linux", true],
        ["local", "x86_64-linux", true],
        ["emulation", "aarch64-linux", true],
        ["native-builder", "-", false],
      ]);
      expect(rows[0]!.setup).toMatch(/^crossnix VM 'fastvm' \(Lima, 2 CPUs, 4 GiB\) over SSH; Nix 2\.8/);
      const emulation = rows.find((r) => r.approach === "emulation")!;
      expect(emulation.unitKind).toBe("machine-code-loop");
      expect(emulation.unit!.median).toBeGreaterThan(0);
      expect(emulation.throughput).toBeGreaterThan(0);
      expect(emulation.firstBuild!.median).toBeGreaterThan(0);
      expect(emulation.setup).toMatch(
        /^binfmt_misc '[^']+' → \/\S+ \(flags [A-Z]+\); the same loop natively [\d.]+ s, so [\d.]+× slower emulated$/,
      );
      expect(rows.find((r) => r.approach === "native-builder")!.why).toMatch(/macOS only; this machine runs linux/);
    } finally {
      fs.rmSync(sandbox.path(record), { force: true });
      sandbox.writeFile("/etc/nix/nix.conf", conf);
      await sandbox.restartDaemon();
    }
  }, 120_000);
});
