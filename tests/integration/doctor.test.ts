// crossnix doctor on real builders: crossnix runs inside the test bed's sandbox root as root, so
// it sees the /etc/nix, /etc/ssh and /root/.ssh the local root nix-daemon uses, connects to the
// builders as that daemon does, and its end-to-end builds really go through the daemon.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertTestbedReady,
  type Builder,
  clientIdentity,
  createSandbox,
  DEFAULT_DAEMON_ENV,
  type Fault,
  type Sandbox,
  startBuilders,
} from "#testbed";
import { useTestBed } from "#testbed/vitest";
import { checkIds } from "../../src/core/doctor/types.js";
import { buildsBy, buildsReportIn, succeededOn } from "../helpers/builds-report.js";
import { crossnixIn } from "../helpers/sandbox-cli.js";

const ready = useTestBed();
const CLIENT_KEY = "/etc/nix/testbed_client_ed25519";
const PROFILE_DAEMON = "/nix/var/nix/profiles/default/bin/nix-daemon";

interface JsonCheck {
  id: string;
  group: string;
  builder?: string;
  system?: string;
  status: "ok" | "warn" | "fail" | "skip";
  observed: string;
  fix: { description: string; command?: string; auto?: string } | null;
}

describe.skipIf(!ready)("doctor on the test bed", () => {
  let b1: Builder;
  let b2: Builder;
  let sandbox: Sandbox;

  const crossnix = (args: string[], options: { input?: string; env?: Record<string, string> } = {}) =>
    crossnixIn(sandbox, args, options);
  const doctor = async (...args: string[]) => {
    const run = await crossnix(["doctor", "--json", ...args]);
    let checks: JsonCheck[] = [];
    try {
      checks = (JSON.parse(run.stdout) as { checks: JsonCheck[] }).checks;
    } catch {
      throw new Error(`doctor printed no JSON (exit ${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
    }
    return { run, checks };
  };
  const get = (checks: JsonCheck[], id: string, builder?: string) => {
    const found = checks.find((c) => c.id === id && (builder === undefined || c.builder === builder));
    if (!found)
      throw new Error(
        `no check ${id}${builder ? ` for ${builder}` : ""} in ${checks.map((c) => `${c.id}/${c.builder ?? ""}`).join(", ")}`,
      );
    return found;
  };
  const notOk = (checks: JsonCheck[]) =>
    checks
      .filter((c) => c.status !== "ok")
      .map(
        (c) =>
          `${c.id}${c.builder ? `/${c.builder}` : ""}${c.system ? `/${c.system}` : ""}: ${c.status}: ${c.observed}`,
      );
  const builderChecksOf = (checks: JsonCheck[], name: string) =>
    checks.filter((c) => c.group === "builder" && c.builder === name);
  const machines = () => sandbox.readFile("/etc/nix/machines");
  const add = async (b: Builder, name: string) => {
    const run = await crossnix([
      "builder",
      "add",
      `${b.user}@${b.address}:${b.port}`,
      "--name",
      name,
      "--identity",
      CLIENT_KEY,
      "--yes",
    ]);
    expect(run.exitCode, `${run.stderr}\n${run.stdout}`.slice(-1500)).toBe(0);
  };

  beforeAll(async () => {
    assertTestbedReady();
    [b1, b2] = (await startBuilders([
      { systems: ["x86_64-linux"] },
      { systems: ["x86_64-linux", "aarch64-linux"] },
    ])) as [Builder, Builder];
    sandbox = await createSandbox({ nixConf: "max-jobs = 0" });
    const key = fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8");
    sandbox.writeFile(CLIENT_KEY, key, 0o600);
    // Registered as a user would; `builder add` writes the settings and restarts the daemon.
    await add(b1, "one");
    await add(b2, "two");
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it("a healthy fleet of two is all ok, including a real build per system (one aarch64-linux)", async () => {
    const { run, checks } = await doctor();
    expect(notOk(checks)).toEqual([]);
    expect(run.exitCode, run.stderr).toBe(0);
    const builds = checks.filter((c) => c.id === "e2e.build");
    expect(builds.map((c) => [c.builder, c.system])).toEqual([
      ["one", "x86_64-linux"],
      ["two", "x86_64-linux"],
      ["two", "aarch64-linux"],
    ]);
    expect(get(checks, "e2e.build", "one").observed).toMatch(
      /^built on ssh-ng:\/\/one in \d+\.\d s; output confirmed$/,
    );
    // Every check a builder has, in dependency order.
    expect(builderChecksOf(checks, "two").map((c) => c.id)).toEqual(
      checkIds("builder").filter((id) => id !== "builder.enabled"),
    );
  });

  it("records its end-to-end builds in the build history, tagged doctor (crossnix builds --json)", async () => {
    const report = await buildsReportIn(sandbox);
    // The healthy run above built one derivation on one and two (x86_64 and aarch64) on two.
    expect(buildsBy(report, "doctor")).toBeGreaterThanOrEqual(3);
    expect(succeededOn(report, "one")).toBeGreaterThanOrEqual(1);
    expect(succeededOn(report, "two")).toBeGreaterThanOrEqual(2);
    expect(report.slowest.every((d) => d.name.startsWith("crossnix-doctor-"))).toBe(true);
  });

  it("prints a human report grouped by local Nix, configuration, each builder and end to end", async () => {
    const run = await crossnix(["doctor", "--no-build"]);
    expect(run.exitCode, run.stderr).toBe(0);
    const headings = run.stdout.split("\n").filter((l) => /^\S/.test(l));
    expect(headings).toEqual([
      "Local Nix",
      "Configuration",
      "Binary caches",
      "Builder one (ssh-ng://one)",
      "Builder two (ssh-ng://two)",
      "End to end",
      expect.stringMatching(/^All good: \d+ ok, 1 skipped\.$/),
    ]);
    expect(run.stdout).toMatch(/✓ Host key\s+pinned ssh-ed25519 SHA256:\S+ is what 127\.0\.0\.3 serves/);
  });

  const faults: [Fault, string, RegExp, (fix: JsonCheck["fix"]) => void][] = [
    [
      "stopped",
      "builder.connect",
      /127\.0\.0\.2:2201 refused the connection/,
      (fix) => expect(fix?.description).toMatch(/start the builder and its sshd/),
    ],
    [
      "hung",
      "builder.connect",
      /accepted the TCP connection but sent no SSH banner in \d/,
      (fix) => expect(fix?.description).toMatch(/restart sshd on the builder.*crossnix builder disable one/),
    ],
    [
      "hostKeyChanged",
      "builder.host-key",
      /serves ssh-ed25519 SHA256:\S+, but ssh-ed25519 SHA256:\S+ is pinned: possible impersonation/,
      (fix) => {
        expect(fix?.command).toBe("crossnix doctor --builder one --fix");
        expect(fix?.auto).toBe("pin-host-key");
      },
    ],
    [
      "keyMissing",
      "builder.auth",
      /the builder rejected \/etc\/nix\/testbed_client_ed25519 \("cxb1@127\.0\.0\.2: Permission denied \(publickey\)\."\)/,
      (fix) => expect(fix?.command).toBe(`ssh-copy-id -i ${CLIENT_KEY}.pub -p 2201 cxb1@127.0.0.2`),
    ],
    [
      "untrusted",
      "builder.trust",
      /cxb1 is not a trusted user of the builder's Nix daemon \(trusted-users = root\)/,
      (fix) => expect(fix?.description).toContain("trusted-users = root cxb1"),
    ],
    [
      "remoteProgramNotOnPath",
      "builder.remote-program",
      /nix-daemon is not on cxb1's non-interactive PATH \(it is at \/nix\/var\/nix\/profiles\/default\/bin\/nix-daemon\)/,
      (fix) => {
        expect(fix?.description).toContain(`set remote-program=${PROFILE_DAEMON}`);
        expect(fix?.auto).toBe("remote-program");
      },
    ],
    [
      "noisyShell",
      "builder.login-shell",
      /shell prints 'Welcome to crossnix test builder b1 \(cxb1\)!' before running any command/,
      (fix) => expect(fix?.description).toMatch(/silent for non-interactive sessions/),
    ],
  ];

  it.each(faults)(
    "fault %s: doctor fails %s of builder one with the fix; builder two stays ok and builds",
    async (fault, id, observed, fixExpect) => {
      await b1.setFault(fault);
      try {
        const { run, checks } = await doctor("--timeout", "3");
        expect(run.exitCode).toBe(1);
        const failed = get(checks, id, "one");
        expect(failed.status, failed.observed).toBe("fail");
        expect(failed.observed).toMatch(observed);
        fixExpect(failed.fix);
        // Builder one's first failure is this one; nothing of builder two or the configuration fails.
        expect(checks.find((c) => c.status === "fail")?.id).toBe(id);
        expect(notOk(checks.filter((c) => c.builder !== "one"))).toEqual([]);
        expect(get(checks, "e2e.build", "one").status).toBe("skip");
      } finally {
        await b1.setFault(fault, false);
      }
    },
    30_000,
  );

  it("--builder checks one builder; an unknown name is bad input (exit 2)", async () => {
    const { run, checks } = await doctor("--builder", "two", "--no-build");
    expect(run.exitCode, run.stderr).toBe(0);
    expect(new Set(checks.filter((c) => c.group === "builder").map((c) => c.builder))).toEqual(new Set(["two"]));
    const unknown = await crossnix(["doctor", "--builder", "nope"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("no builder named 'nope'");
  });

  it("a daemon without ssh on its PATH fails nix.daemon-ssh; builds are not attempted", async () => {
    await sandbox.restartDaemon({ ...DEFAULT_DAEMON_ENV, PATH: "/nonexistent" });
    try {
      const { run, checks } = await doctor("--builder", "one");
      expect(run.exitCode).toBe(1);
      expect(get(checks, "nix.daemon-ssh")).toMatchObject({ status: "fail" });
      expect(get(checks, "nix.daemon-ssh").observed).toContain("unable to execute 'ssh'");
      expect(get(checks, "e2e.build", "one")).toMatchObject({
        status: "skip",
        observed: "not attempted: nix.daemon-ssh failed",
      });
    } finally {
      await sandbox.restartDaemon({ ...DEFAULT_DAEMON_ENV });
    }
  });

  it("--fix --yes adds builders-use-substitutes (diff shown) and restarts the daemon", async () => {
    const conf = sandbox.readFile("/etc/nix/nix.conf");
    await new Promise((r) => setTimeout(r, 200)); // an edit after the daemon's (re)start in the test before
    sandbox.writeFile("/etc/nix/nix.conf", conf.replace(/^.*builders-use-substitutes.*\n/gm, ""));
    const before = await doctor("--no-build");
    expect(get(before.checks, "config.builders-use-substitutes").status).toBe("warn");
    expect(get(before.checks, "config.daemon-stale").status, get(before.checks, "config.daemon-stale").observed).toBe(
      "fail",
    );
    const run = await crossnix(["doctor", "--no-build", "--fix", "--yes"]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("--- a/etc/nix/nix.conf");
    expect(run.stdout).toContain("+builders-use-substitutes = true");
    expect(run.stdout).toMatch(/then run:\n\s+\$ \S+ \S+cli\.js internal restart-daemon/);
    expect(run.stdout).toContain("After the fixes:");
    expect(sandbox.readFile("/etc/nix/nix.conf")).toMatch(/^builders-use-substitutes = true$/m);
    const after = await doctor("--no-build");
    expect(notOk(after.checks.filter((c) => c.id !== "e2e.build"))).toEqual([]);
  });

  it("--fix --yes sets remote-program on the entry, and the builder then builds", async () => {
    await b1.setFault("remoteProgramNotOnPath");
    try {
      const run = await crossnix(["doctor", "--fix", "--yes"]);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain("--- a/etc/nix/machines");
      expect(run.stdout).toMatch(new RegExp(`^\\+ssh-ng://one\\?remote-program=${PROFILE_DAEMON} x86_64-linux `, "m"));
      expect(machines()).toMatch(
        new RegExp(`^ssh-ng://one\\?remote-program=${PROFILE_DAEMON} .* # crossnix:one$`, "m"),
      );
      const after = await doctor();
      expect(notOk(after.checks)).toEqual([]);
      expect(get(after.checks, "builder.remote-program", "one").observed).toBe(
        `remote-program=${PROFILE_DAEMON} is executable on the builder`,
      );
    } finally {
      await b1.setFault("remoteProgramNotOnPath", false);
    }
  });

  it("a changed host key is never re-pinned with --yes alone, only after the fingerprint is confirmed", async () => {
    const before = machines();
    await b1.setFault("hostKeyChanged");
    try {
      const yes = await crossnix(["doctor", "--no-build", "--fix", "--yes"]);
      expect(yes.exitCode).toBe(1);
      expect(yes.stdout).toMatch(
        /Not fixed: did not re-pin the host key of 'one' \(pinned ssh-ed25519 SHA256:\S+, now serves ssh-ed25519 SHA256:\S+\): that needs you to confirm the fingerprint on a terminal/,
      );
      expect(machines()).toBe(before);

      const declined = await crossnix(["doctor", "--no-build", "--fix", "--yes"], {
        input: "n\n",
        env: { CROSSNIX_ASSUME_TTY: "1" },
      });
      expect(declined.exitCode).toBe(1);
      expect(declined.stderr).toMatch(
        /serves the host key\n {2}ssh-ed25519 SHA256:\S+\nbut the pinned key is\n {2}ssh-ed25519 SHA256:\S+/,
      );
      expect(machines()).toBe(before);

      const confirmed = await crossnix(["doctor", "--no-build", "--fix", "--yes"], {
        input: "y\n",
        env: { CROSSNIX_ASSUME_TTY: "1" },
      });
      expect(confirmed.exitCode, confirmed.stdout + confirmed.stderr).toBe(0);
      expect(machines()).toContain(` ${b1.hostKeyBase64} # crossnix:one`);
    } finally {
      await b1.setFault("hostKeyChanged", false);
      sandbox.writeFile("/etc/nix/machines", before); // the old key is back
    }
  });

  it("over 8 builders with one hung, finishes within --timeout + 2 s", async () => {
    const more = await startBuilders(6);
    try {
      for (const [i, b] of more.entries()) await add(b, `extra${i + 3}`);
      await more[2]!.setFault("hung");
      const started = performance.now();
      const { run, checks } = await doctor("--no-build", "--timeout", "3");
      const seconds = (performance.now() - started) / 1000;
      expect(seconds).toBeLessThan(5);
      expect(run.exitCode).toBe(1);
      expect(checks.filter((c) => c.id === "builder.connect").map((c) => [c.builder, c.status])).toEqual([
        ["one", "ok"],
        ["two", "ok"],
        ["extra3", "ok"],
        ["extra4", "ok"],
        ["extra5", "fail"],
        ["extra6", "ok"],
        ["extra7", "ok"],
        ["extra8", "ok"],
      ]);
    } finally {
      for (const b of more) await b.stop();
    }
  }, 60_000);
});
