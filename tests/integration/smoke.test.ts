// Smoke test of the integration test bed: two real sshd builders with their own Nix stores,
// a root nix-daemon doing the SSH (as on a multi-user/macOS install), and a non-root client
// running nix-build. The configuration is written by hand here (what crossnix will write):
// /etc/nix/nix.conf, /etc/nix/machines with the host key pinned in column 8, and an ssh alias
// in /etc/ssh/ssh_config.d/crossnix.conf carrying HostName, Port, User, IdentityFile and
// HostKeyAlias.
import * as fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import {
  assertTestbedReady,
  BASE_NIX_CONF,
  type Builder,
  buildProbe,
  clientIdentity,
  createSandbox,
  type Sandbox,
  startBuilders,
} from "#testbed";
import { useTestBed } from "#testbed/vitest";

const ready = useTestBed();

/** The ssh alias crossnix writes for a builder. */
function alias(name: string, b: Builder, keyPath: string, hostKeyAlias = true): string {
  return [
    `Host ${name}`,
    `  HostName ${b.address}`,
    `  Port ${b.port}`,
    `  User ${b.user}`,
    `  IdentityFile ${keyPath}`,
    "  IdentitiesOnly yes",
    ...(hostKeyAlias ? [`  HostKeyAlias ${name}`] : []),
    "",
  ].join("\n");
}

/**
 * Where ssh's own error ends up in Nix 2.8: for ssh:// inside the client's "cannot build on"
 * message; for ssh-ng:// only in the local daemon's stderr (the client sees "unexpected
 * end-of-file").
 */
function sshErrors(scheme: "ssh" | "ssh-ng", clientStderr: string, daemonLog: string): string {
  if (scheme === "ssh-ng") {
    expect(clientStderr).toContain("error: unexpected end-of-file");
    return daemonLog;
  }
  return clientStderr;
}

/** A machines line: uri systems key maxJobs speed features mandatory hostKey. */
function machine(uri: string, b: Builder, hostKeyBase64 = b.hostKeyBase64): string {
  return [uri, b.systems.join(","), "-", "2", "1", b.features.join(","), "-", hostKeyBase64].join(" ");
}

describe.skipIf(!ready)("smoke: remote builds through the local root daemon", () => {
  let b1: Builder;
  let b2: Builder;
  let sandbox: Sandbox;
  const keyPath = "/etc/nix/crossnix/testbed_ed25519";

  beforeAll(async () => {
    assertTestbedReady();
    [b1, b2] = (await startBuilders([
      { systems: ["x86_64-linux"] },
      { systems: ["x86_64-linux", "aarch64-linux"] },
    ])) as [Builder, Builder];
    const id = await clientIdentity();
    sandbox = await createSandbox();
    sandbox.writeFile(keyPath, fs.readFileSync(id.privateKeyPath, "utf8"), 0o600);
    sandbox.writeFile(
      "/etc/ssh/ssh_config.d/crossnix.conf",
      alias("cx-b1", b1, keyPath) + alias("cx-b2", b2, keyPath) + alias("cx-b2-portonly", b2, keyPath, false),
    );
    sandbox.writeFile(
      "/etc/nix/machines",
      [machine("ssh-ng://cx-b1", b1), machine("ssh-ng://cx-b2", b2), ""].join("\n"),
    );
    sandbox.writeFile(
      "/etc/nix/nix.conf",
      BASE_NIX_CONF + "builders = @/etc/nix/machines\nbuilders-use-substitutes = true\nmax-jobs = 0\n",
    );
    await sandbox.restartDaemon();
  });

  it("sees the sandbox's files at the real paths, and the machine's /etc is untouched", async () => {
    const r = await sandbox.runAsClient(["cat", "/etc/nix/machines", "/etc/ssh/ssh_config.d/crossnix.conf"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("ssh-ng://cx-b2");
    expect(r.stdout).toContain("HostKeyAlias cx-b2");
    expect(fs.existsSync("/etc/ssh/ssh_config.d/crossnix.conf")).toBe(false);
    expect(fs.existsSync("/etc/nix/machines")).toBe(false);
    const who = await sandbox.runAsClient(["id", "-un"]);
    expect(who.stdout.trim()).toBe(sandbox.clientUser);
  });

  it("builds aarch64-linux on builder 2 (qemu), as the non-root client through the root daemon", async () => {
    const build = await buildProbe(sandbox, "aarch64-linux");
    expect(build.result.exitCode, build.result.stderr).toBe(0);
    const out = build.outPath!;
    expect(out).toMatch(/^\/nix\/store\/[0-9a-z]{32}-crossnix-probe-aarch64-linux$/);

    // In the local store, valid.
    expect(fs.existsSync(out)).toBe(true);
    const valid = await sandbox.runAsClient(["nix-store", "--check-validity", out]);
    expect(valid.exitCode, valid.stderr).toBe(0);

    // Built under emulation, by builder 2's user, for this run's nonce.
    expect(build.output).toMatchObject({ machine: "aarch64", user: b2.user, nonce: build.nonce });
    expect(build.builtOn).toBe("ssh-ng://cx-b2");

    // It really was built in builder 2's store (it has the path and the build log there),
    // not in builder 1's and not locally.
    expect(b2.hasPath(out)).toBe(true);
    expect(build.drvPath).toBeDefined();
    expect(b2.hasBuildLog(build.drvPath!)).toBe(true);
    expect(b1.hasPath(out)).toBe(false);
    expect(build.output!.user).not.toMatch(/^nixbld/);

    // No host key was learned: the pin in machines column 8 did the job.
    expect(sandbox.exists("/root/.ssh/known_hosts")).toBe(false);
  });

  it("builds x86_64-linux on a builder, not locally (max-jobs = 0)", async () => {
    const build = await buildProbe(sandbox, "x86_64-linux");
    expect(build.result.exitCode, build.result.stderr).toBe(0);
    const out = build.outPath!;
    const builder = [b1, b2].find((b) => build.builtOn === `ssh-ng://cx-${b.name}`);
    expect(builder, `built on ${build.builtOn}`).toBeDefined();
    expect(build.output).toMatchObject({ machine: "x86_64", user: builder!.user, nonce: build.nonce });
    expect(builder!.hasPath(out)).toBe(true);
    expect(builder!.hasBuildLog(build.drvPath!)).toBe(true);
    const other = builder === b1 ? b2 : b1;
    expect(other.hasPath(out)).toBe(false);
  });

  it("cannot build anything with the builders gone (proves max-jobs = 0 holds)", async () => {
    sandbox.writeFile("/etc/nix/machines", "");
    try {
      const build = await buildProbe(sandbox, "x86_64-linux", { timeoutMs: 30_000 });
      expect(build.result.exitCode).not.toBe(0);
      expect(build.result.stderr).toMatch(/unable to start any build|Failed to find a machine/i);
    } finally {
      sandbox.writeFile(
        "/etc/nix/machines",
        [machine("ssh-ng://cx-b1", b1), machine("ssh-ng://cx-b2", b2), ""].join("\n"),
      );
    }
  });

  // Nix 2.8 cannot put a port in a store URI and writes the pinned key as "<host> <key>" into a
  // temporary known_hosts (-oUserKnownHostsFile). Through an alias with HostKeyAlias, ssh looks
  // the key up under the alias, so the pin matches on any port; without HostKeyAlias, ssh looks
  // it up as "[127.0.0.3]:2202" and the pin never matches.
  describe("host key pinning through an ssh alias on a non-22 port", () => {
    for (const scheme of ["ssh-ng", "ssh"] as const) {
      it(`${scheme}:// alias with HostKeyAlias: the pinned key matches`, async () => {
        sandbox.writeFile("/etc/nix/machines", machine(`${scheme}://cx-b2`, b2) + "\n");
        const build = await buildProbe(sandbox, "aarch64-linux");
        expect(build.result.exitCode, build.result.stderr).toBe(0);
        expect(build.builtOn).toBe(`${scheme}://cx-b2`);
        expect(build.output?.user).toBe(b2.user);
        expect(sandbox.exists("/root/.ssh/known_hosts")).toBe(false);
      });

      it(`${scheme}:// alias with HostKeyAlias: a wrong pinned key is rejected`, async () => {
        const wrong = Buffer.from(b1.hostKey).toString("base64");
        sandbox.writeFile("/etc/nix/machines", machine(`${scheme}://cx-b2`, b2, wrong) + "\n");
        const mark = sandbox.daemonLogSize();
        const build = await buildProbe(sandbox, "aarch64-linux", { timeoutMs: 30_000 });
        expect(build.result.exitCode).not.toBe(0);
        expect(sshErrors(scheme, build.result.stderr, sandbox.readDaemonLog(mark))).toMatch(
          /REMOTE HOST IDENTIFICATION HAS CHANGED![\s\S]*Host key verification failed\./,
        );
      });

      it(`${scheme}:// alias with only Port (no HostKeyAlias): the pinned key does not match`, async () => {
        sandbox.writeFile("/etc/nix/machines", machine(`${scheme}://cx-b2-portonly`, b2) + "\n");
        const mark = sandbox.daemonLogSize();
        const build = await buildProbe(sandbox, "aarch64-linux", { timeoutMs: 30_000 });
        expect(build.result.exitCode).not.toBe(0);
        const ssh = sshErrors(scheme, build.result.stderr, sandbox.readDaemonLog(mark));
        expect(ssh).toContain("Host key verification failed.");
        // Not a changed key: ssh found no key at all for "[127.0.0.3]:2202".
        expect(ssh).not.toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");
      });
    }
  });
});
