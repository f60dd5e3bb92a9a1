// builder setup-remote on real builders: crossnix runs in the test bed's sandbox root and reaches
// multi-user builders through root's own SSH login. Each builder runs its root nix-daemon under
// the test bed's systemd stand-in, and its user has passwordless sudo only inside the builder's
// namespace (testbed/service.ts), so the remote edit, backup, restart and re-probe are real.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertTestbedReady,
  type Builder,
  buildProbe,
  clientIdentity,
  createSandbox,
  emulatedSystem,
  hostSystem,
  type Sandbox,
  startBuilders,
} from "#testbed";
import { useTestBed } from "#testbed/vitest";
import { crossnixIn } from "../helpers/sandbox-cli.js";

const ready = useTestBed();

describe.skipIf(!ready)("builder setup-remote on the test bed", () => {
  let b1: Builder;
  let b2: Builder;
  let sandbox: Sandbox;

  const crossnix = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) =>
    crossnixIn(sandbox, args, opts);
  const dest = (b: Builder) => `${b.user}@${b.address}:${b.port}`;
  const confPath = (b: Builder) => path.join(b.etcNixDir, "nix.conf");
  const conf = (b: Builder) => fs.readFileSync(confPath(b), "utf8");
  const backups = (b: Builder) =>
    fs
      .readdirSync(b.etcNixDir)
      .filter((n) => n.includes(".crossnix-backup-"))
      .sort();
  const starts = (b: Builder) => b.daemonJournal().filter((l) => l.startsWith("started")).length;
  /** Everything a failed or no-op run must leave alone (nix.conf as a symlink: where it points). */
  const snapshot = (b: Builder) => ({
    files: fs.readdirSync(b.etcNixDir).sort(),
    conf: fs.lstatSync(confPath(b)).isSymbolicLink() ? `-> ${fs.readlinkSync(confPath(b))}` : conf(b),
    starts: starts(b),
    daemon: b.daemonPid,
  });
  /** Back to a fresh untrusted builder: trusted-users = root, nothing else in /etc/nix. */
  const resetUntrusted = async (b: Builder) => {
    for (const name of fs.readdirSync(b.etcNixDir)) if (name !== "nix.conf") fs.rmSync(path.join(b.etcNixDir, name));
    await b.setFault("untrusted", false);
    await b.setFault("untrusted", true);
  };

  beforeAll(async () => {
    assertTestbedReady();
    [b1, b2] = (await startBuilders([
      { systems: [hostSystem()], multiUser: true, sudo: true, faults: ["untrusted"] },
      { systems: [hostSystem(), emulatedSystem()], multiUser: true, sudo: true, faults: ["untrusted"] },
    ])) as [Builder, Builder];
    sandbox = await createSandbox({ nixConf: "max-jobs = 0" });
    // root's own SSH login, authorised on every builder: what setup-remote connects with.
    sandbox.writeFile("/root/.ssh/id_ed25519", fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8"), 0o600);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it("--dry-run shows the remote diff labelled <host>:/etc/nix/nix.conf and the restart, and changes nothing", async () => {
    const before = snapshot(b1);
    const run = await crossnix(["builder", "setup-remote", dest(b1), "--dry-run"]);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain(`--- ${b1.address}:/etc/nix/nix.conf\n+++ ${b1.address}:/etc/nix/nix.conf\n`);
    expect(run.stdout).toMatch(/^-trusted-users = root$/m);
    expect(run.stdout).toMatch(new RegExp(`^\\+trusted-users = root ${b1.user}$`, "m"));
    expect(run.stdout).toContain("$ systemctl restart nix-daemon.service");
    expect(run.stdout).toContain("Dry run: nothing was written");
    expect(run.stdout).toMatch(
      new RegExp(
        `Connected to ${b1.address.replace(/\./g, "\\.")}:${b1.port} with host key ssh-ed25519 SHA256:\\S+, as the server presented it now`,
      ),
    );
    expect(snapshot(b1)).toEqual(before);
  });

  it("with no terminal and no --yes, shows the diff, writes nothing and exits 1", async () => {
    const before = snapshot(b1);
    const run = await crossnix(["builder", "setup-remote", dest(b1)]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(`+++ ${b1.address}:/etc/nix/nix.conf`);
    expect(run.stderr).toContain(`no terminal to confirm the change on ${b1.address}, so nothing was written`);
    expect(snapshot(b1)).toEqual(before);
  });

  it("without passwordless sudo: a clear error, nothing written; a wrong password typed at a terminal is refused", async () => {
    const before = snapshot(b1);
    b1.setSudo(false);
    try {
      const batch = await crossnix(["builder", "setup-remote", dest(b1), "--yes"]);
      expect(batch.exitCode).toBe(1);
      expect(batch.stderr).toContain(`sudo on ${b1.address} did not run the change: sudo: a password is required`);
      expect(batch.stderr).toContain("passwordless sudo");
      expect(snapshot(b1)).toEqual(before);

      // A terminal: confirm, then sudo's password (piped here; hidden on a real terminal).
      const typed = await crossnix(["builder", "setup-remote", dest(b1)], {
        input: "y\nnot-the-password\n",
        env: { CROSSNIX_ASSUME_TTY: "1" },
      });
      expect(typed.exitCode).toBe(1);
      expect(typed.stderr).toContain(`[sudo] password for ${b1.user} on ${b1.address}:`);
      expect(typed.stderr).toMatch(/sudo on 127\.0\.0\.\d+ did not run the change: sudo: .*incorrect password/);
      expect(snapshot(b1)).toEqual(before);
    } finally {
      b1.setSudo(true);
    }
  });

  it("--yes appends the user to trusted-users (every other byte kept), backs up, restarts the daemon and verifies", async () => {
    const before = conf(b1);
    const mode = fs.statSync(confPath(b1)).mode;
    const daemon = b1.daemonPid;
    const startsBefore = starts(b1);
    const run = await crossnix(["builder", "setup-remote", dest(b1), "--yes"]);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain(`+++ ${b1.address}:/etc/nix/nix.conf`);
    expect(conf(b1)).toBe(before.replace(/^trusted-users = root$/m, `trusted-users = root ${b1.user}`));
    expect(fs.statSync(confPath(b1)).mode).toBe(mode);
    const [backup, ...more] = backups(b1);
    expect(more).toEqual([]);
    expect(backup).toMatch(/^nix\.conf\.crossnix-backup-\d{8}T\d{6}Z$/);
    expect(fs.readFileSync(path.join(b1.etcNixDir, backup!), "utf8")).toBe(before);
    expect(run.stdout).toContain(`the old file is kept as /etc/nix/${backup}`);
    // restarted through the builder's systemctl: a new MainPID
    expect(starts(b1)).toBe(startsBefore + 1);
    expect(b1.daemonPid).toBeDefined();
    expect(b1.daemonPid).not.toBe(daemon);
    expect(run.stdout).toContain(`Restarted the Nix daemon on ${b1.address}.`);
    expect(run.stdout).toContain(`Verified: the Nix daemon on ${b1.address} trusts '${b1.user}'`);
  });

  it("running it again is a no-op", async () => {
    const before = snapshot(b1);
    const run = await crossnix(["builder", "setup-remote", dest(b1), "--yes"]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain(`'${b1.user}' is already trusted by the Nix daemon on ${b1.address}`);
    expect(run.stdout).not.toContain("+++");
    expect(snapshot(b1)).toEqual(before);
  });

  it("a configuration generated by NixOS (nix.conf links into /nix/store): prints the option, writes nothing", async () => {
    await resetUntrusted(b1);
    const text = conf(b1);
    const storeName = "0123456789abcdfghijklmnpqrsvwxyz-nix.conf";
    fs.writeFileSync(path.join(b1.storeDir, storeName), text, { mode: 0o444 });
    fs.rmSync(confPath(b1));
    fs.symlinkSync(`/nix/store/${storeName}`, confPath(b1));
    try {
      const before = snapshot(b1);
      const run = await crossnix(["builder", "setup-remote", dest(b1), "--yes"]);
      expect(run.exitCode, run.stderr + run.stdout).toBe(0);
      expect(run.stdout).toContain(`/etc/nix/nix.conf links to /nix/store/${storeName}`);
      expect(run.stdout).toContain(`nix.settings.trusted-users = [ "root" "${b1.user}" ];`);
      expect(run.stdout).toContain("Nothing was written.");
      expect(snapshot(b1)).toEqual(before);
      expect(fs.readlinkSync(confPath(b1))).toBe(`/nix/store/${storeName}`);
      expect(fs.readFileSync(path.join(b1.storeDir, storeName), "utf8")).toBe(text);
    } finally {
      fs.rmSync(confPath(b1));
      fs.writeFileSync(confPath(b1), text);
      fs.rmSync(path.join(b1.storeDir, storeName), { force: true });
    }
  });

  it("Determinate layout (nix.conf includes nix.custom.conf): creates nix.custom.conf, nix.conf untouched", async () => {
    await resetUntrusted(b1);
    fs.appendFileSync(confPath(b1), "!include nix.custom.conf\n");
    const nixConf = conf(b1);
    const run = await crossnix(["builder", "setup-remote", dest(b1), "--yes"]);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain(`--- /dev/null\n+++ ${b1.address}:/etc/nix/nix.custom.conf`);
    expect(conf(b1)).toBe(nixConf);
    const custom = path.join(b1.etcNixDir, "nix.custom.conf");
    expect(fs.readFileSync(custom, "utf8")).toMatch(
      new RegExp(`^# added by crossnix .*\\ntrusted-users = root ${b1.user}\\n$`),
    );
    expect([fs.statSync(custom).mode & 0o777, fs.statSync(custom).uid]).toEqual([0o644, 0]);
    expect(backups(b1)).toEqual([]);
    expect(run.stdout).toContain(`Verified: the Nix daemon on ${b1.address} trusts '${b1.user}'`);
  });

  it("builder add --setup-remote on an untrusted builder: trusts, registers, and a real build runs there", async () => {
    const run = await crossnix(["builder", "add", dest(b2), "--name", "two", "--copy-key", "--setup-remote", "--yes"]);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toContain(`+++ ${b2.address}:/etc/nix/nix.conf`);
    expect(conf(b2)).toMatch(new RegExp(`^trusted-users = root ${b2.user}$`, "m"));
    expect(run.stdout).toContain(`Verified: the Nix daemon on ${b2.address} trusts '${b2.user}'`);
    expect(run.stdout).toMatch(/Verified: root reaches 'two' with its key and the pinned host key/);
    expect(sandbox.readFile("/etc/nix/machines")).toMatch(/^ssh-ng:\/\/two /m);
    // The builder's daemon really trusts the user now: an untrusted one refuses with
    // "you are not privileged to build input-addressed derivations".
    const build = await buildProbe(sandbox, "aarch64-linux");
    expect(build.result.exitCode, build.result.stderr).toBe(0);
    expect(b2.hasBuildLog(build.drvPath!)).toBe(true);
  });
});
