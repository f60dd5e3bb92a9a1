// Self-test of the test bed's fault switches: each fault has its raw effect, Nix 2.8 reports
// it with the message recorded in README.md, and switching it off makes builds work again.
import * as fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  assertTestbedReady,
  type Builder,
  buildProbe,
  clientIdentity,
  createSandbox,
  type Fault,
  type ProbeSystem,
  type Sandbox,
  startBuilders,
} from "./index.js";
import { canConnect, procStat } from "./proc.js";
import { useTestBed } from "./vitest.js";

const ready = useTestBed();
const KEY = "/etc/nix/crossnix/testbed_ed25519";

describe.skipIf(!ready)("test bed fault switches", () => {
  let b: Builder;
  let sb: Sandbox;

  beforeAll(async () => {
    assertTestbedReady();
    [b] = (await startBuilders([{ systems: ["x86_64-linux", "aarch64-linux"], diskSizeMb: 32 }])) as [Builder];
    sb = await createSandbox({
      nixConf: "builders = @/etc/nix/machines\nbuilders-use-substitutes = true\nmax-jobs = 0\n",
    });
    sb.writeFile(KEY, fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8"), 0o600);
    sb.writeFile(
      "/etc/ssh/ssh_config.d/crossnix.conf",
      [
        "Host cx",
        `  HostName ${b.address}`,
        `  Port ${b.port}`,
        `  User ${b.user}`,
        `  IdentityFile ${KEY}`,
        "  IdentitiesOnly yes",
        "  HostKeyAlias cx",
        "  ConnectTimeout 2",
        "",
      ].join("\n"),
    );
  });

  /** One build through machine `uri` (pinned to the builder's key at call time unless given). */
  async function attempt(uri: string, system: ProbeSystem = "aarch64-linux", pinned = b.hostKeyBase64) {
    sb.writeFile("/etc/nix/machines", `${uri} ${b.systems.join(",")} - 2 1 ${b.features.join(",")} - ${pinned}\n`);
    const mark = sb.daemonLogSize();
    const build = await buildProbe(sb, system, { timeoutMs: 60_000 });
    return { ...build, daemonLog: sb.readDaemonLog(mark) };
  }

  /**
   * With `fault` on: ssh:// shows `legacy` to the client; ssh-ng:// shows `ng` to the client
   * and `ngDaemon` in the daemon's stderr. Then off again: a build succeeds.
   */
  async function expectFault(
    fault: Fault,
    want: { legacy: RegExp; ng: RegExp; ngDaemon?: RegExp; system?: ProbeSystem },
  ): Promise<void> {
    const pinned = b.hostKeyBase64;
    await b.setFault(fault);
    try {
      const legacy = await attempt("ssh://cx", want.system, pinned);
      expect(legacy.result.exitCode).not.toBe(0);
      expect(legacy.result.stderr).toMatch(want.legacy);
      const ng = await attempt("ssh-ng://cx", want.system, pinned);
      expect(ng.result.exitCode).not.toBe(0);
      expect(ng.result.stderr).toMatch(want.ng);
      if (want.ngDaemon) expect(ng.daemonLog).toMatch(want.ngDaemon);
    } finally {
      await b.setFault(fault, false);
    }
    expect(b.faults.has(fault)).toBe(false);
    const ok = await attempt("ssh-ng://cx", want.system);
    expect(ok.result.exitCode, ok.result.stderr).toBe(0);
    expect(ok.output?.user).toBe(b.user);
  }

  const EOF = /cannot open connection to remote store 'ssh-ng:\/\/cx': error: unexpected end-of-file/;

  it("works without faults, over ssh:// and ssh-ng://", async () => {
    for (const uri of ["ssh://cx", "ssh-ng://cx"]) {
      const r = await attempt(uri);
      expect(r.result.exitCode, r.result.stderr).toBe(0);
      expect(r.output).toMatchObject({ machine: "aarch64", user: b.user });
      expect(b.hasPath(r.outPath!)).toBe(true);
    }
  });

  it("stopped: connection refused", async () => {
    await b.setFault("stopped");
    try {
      expect(b.sshdPid).toBeUndefined();
      expect(await canConnect({ host: b.address, port: b.port })).toBe(false);
    } finally {
      await b.setFault("stopped", false);
    }
    expect(await canConnect({ host: b.address, port: b.port })).toBe(true);
    await expectFault("stopped", {
      legacy: /cannot connect to 'cx': ssh: connect to host 127\.0\.0\.\d+ port \d+: Connection refused/,
      ng: EOF,
      ngDaemon: /Connection refused/,
    });
  });

  it("hung: sshd stopped (state T); ssh times out in the banner exchange with ConnectTimeout", async () => {
    await b.setFault("hung");
    try {
      expect(procStat(b.sshdPid!)?.state).toBe("T");
    } finally {
      await b.setFault("hung", false);
    }
    expect(procStat(b.sshdPid!)?.state).not.toBe("T");
    await expectFault("hung", {
      legacy: /Connection timed out during banner exchange/,
      ng: EOF,
      ngDaemon: /Connection timed out during banner exchange/,
    });
    // Hung connections may still hold the machine's build slots.
    await sb.restartDaemon();
  });

  it("hostKeyChanged: a new host key; the pinned old one is refused", async () => {
    const before = b.hostKey;
    await b.setFault("hostKeyChanged");
    try {
      expect(b.hostKey).not.toBe(before);
    } finally {
      await b.setFault("hostKeyChanged", false);
    }
    expect(b.hostKey).toBe(before);
    await expectFault("hostKeyChanged", {
      legacy: /REMOTE HOST IDENTIFICATION HAS CHANGED![\s\S]*Host key verification failed\./,
      ng: EOF,
      ngDaemon: /Host key verification failed\./,
    });
  });

  it("keyMissing: publickey authentication fails", async () => {
    await b.setFault("keyMissing");
    try {
      expect((await b.ssh("true")).stderr).toContain("Permission denied (publickey)");
    } finally {
      await b.setFault("keyMissing", false);
    }
    expect((await b.ssh("true")).exitCode).toBe(0);
    await expectFault("keyMissing", {
      legacy: /Permission denied \(publickey\)/,
      ng: EOF,
      ngDaemon: /Permission denied \(publickey\)/,
    });
  });

  it("authorize/unauthorize a key", async () => {
    const id = await clientIdentity();
    b.unauthorize(id.publicKey);
    try {
      expect((await b.ssh("true")).exitCode).not.toBe(0);
    } finally {
      b.authorize(id.publicKey);
    }
    expect((await b.ssh("true")).exitCode).toBe(0);
  });

  it("untrusted: a root daemon in the builder that does not trust the SSH user", async () => {
    await b.setFault("untrusted");
    try {
      expect(b.daemonPid).toBeDefined();
      expect(fs.statSync(b.storeDir).uid).toBe(0);
    } finally {
      await b.setFault("untrusted", false);
    }
    expect(b.daemonPid).toBeUndefined();
    expect(fs.statSync(b.storeDir).uid).not.toBe(0);
    await expectFault("untrusted", {
      legacy: /you are not privileged to build input-addressed derivations/,
      ng: /you are not privileged to build input-addressed derivations/,
      system: "x86_64-linux",
    });
  });

  it("remoteProgramNotOnPath: nix-* only at /nix/var/nix/profiles/default/bin", async () => {
    await b.setFault("remoteProgramNotOnPath");
    try {
      expect((await b.ssh("command -v nix-store")).exitCode).not.toBe(0);
      const v = await b.ssh("/nix/var/nix/profiles/default/bin/nix-store --version");
      expect(v.stdout).toContain("nix-store (Nix)");
      // The documented fix works while the fault is on.
      for (const [scheme, prog] of [
        ["ssh", "nix-store"],
        ["ssh-ng", "nix-daemon"],
      ] as const) {
        const fixed = await attempt(`${scheme}://cx?remote-program=/nix/var/nix/profiles/default/bin/${prog}`);
        expect(fixed.result.exitCode, fixed.result.stderr).toBe(0);
      }
    } finally {
      await b.setFault("remoteProgramNotOnPath", false);
    }
    await expectFault("remoteProgramNotOnPath", {
      legacy: /cannot connect to 'cx': bash: line 1: nix-store: command not found/,
      ng: EOF,
      ngDaemon: /bash: line 1: nix-daemon: command not found/,
    });
  });

  it("noisyShell: output before the protocol", async () => {
    await b.setFault("noisyShell");
    try {
      expect((await b.ssh("true")).stdout).toContain("Welcome to crossnix test builder");
    } finally {
      await b.setFault("noisyShell", false);
    }
    expect((await b.ssh("true")).stdout).toBe("");
    await expectFault("noisyShell", {
      legacy: /'nix-store --serve' protocol mismatch from 'cx', got 'Welcome to crossnix test builder/,
      ng: /cannot open connection to remote store 'ssh-ng:\/\/cx': error: protocol mismatch, got 'Welcome to crossnix test builder/,
    });
  });

  it("diskFull: the builder's store cannot be opened", async () => {
    await b.setFault("diskFull");
    try {
      expect(fs.statfsSync(b.nixDir).bavail).toBe(0);
    } finally {
      await b.setFault("diskFull", false);
    }
    expect(fs.statfsSync(b.nixDir).bavail).toBeGreaterThan(0);
    await expectFault("diskFull", {
      legacy: /disk I\/O error|No space left on device/,
      ng: EOF,
      ngDaemon: /disk I\/O error|No space left on device/,
    });
  });
});
