// Self-test of the stand-ins for systemd and sudo (service.ts): a multi-user builder's daemon
// restarts through `sudo systemctl restart nix-daemon`, only as root, and only this builder's
// user gets sudo, only inside its namespace.
import * as fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { assertTestbedReady, type Builder, startBuilders } from "./index.js";
import { useTestBed } from "./vitest.js";

const ready = useTestBed();

describe.skipIf(!ready)("test bed systemd and sudo stand-ins", () => {
  let multi: Builder;
  let single: Builder;
  const hostSudoers = () => fs.readdirSync("/etc/sudoers.d").sort();
  let sudoersBefore: string[];

  beforeAll(async () => {
    assertTestbedReady();
    sudoersBefore = hostSudoers();
    [multi, single] = (await startBuilders([{ multiUser: true, sudo: true }, {}])) as [Builder, Builder];
  });

  it("is-active, for anyone: active for the supervised daemon, inactive otherwise", async () => {
    const on = await multi.ssh(
      "systemctl is-active nix-daemon.service; echo rc=$?; systemctl is-active nix-daemon; systemctl is-active other.service; echo rc=$?",
    );
    expect(on.stdout).toBe("active\nrc=0\nactive\ninactive\nrc=3\n");
    const off = await single.ssh("systemctl is-active nix-daemon.service; echo rc=$?");
    expect(off.stdout).toBe("inactive\nrc=3\n");
  });

  it("restart: refused to the user, done as root through sudo (a new MainPID that answers)", async () => {
    const pid = multi.daemonPid;
    const starts = multi.daemonJournal().length;
    const denied = await multi.ssh("systemctl restart nix-daemon.service");
    expect([denied.exitCode, denied.stderr.trim()]).toEqual([1, "Failed to restart nix-daemon.service: Access denied"]);
    expect(multi.daemonPid).toBe(pid);
    const restart = await multi.ssh(
      "sudo -n systemctl restart nix-daemon && nix-store --store daemon -q --hash /nix/store/00000000000000000000000000000000-x",
    );
    expect(restart.stderr).toContain("is not valid");
    expect(multi.daemonPid).toBeDefined();
    expect(multi.daemonPid).not.toBe(pid);
    const [stopped, started, ...rest] = multi.daemonJournal().slice(starts);
    expect(stopped).toMatch(new RegExp(`^stopped ${pid} \\(\\d+\\)$`));
    expect([started, rest]).toEqual([`started ${multi.daemonPid}`, []]);
  });

  it("anything else fails loudly; a builder without a daemon has no unit", async () => {
    const other = await multi.ssh("sudo -n systemctl stop nix-daemon.service");
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain("'stop' is not implemented");
    const none = await single.ssh("sudo -n systemctl restart nix-daemon.service");
    expect(none.exitCode).not.toBe(0);
  });

  it("sudo: passwordless only while on, only for the builder's user, never in the machine's /etc/sudoers.d", async () => {
    expect((await multi.ssh("sudo -n id -u")).stdout).toBe("0\n");
    expect((await single.ssh("sudo -n id -u")).stderr).toContain("a password is required");
    multi.setSudo(false);
    try {
      expect((await multi.ssh("sudo -n id -u")).stderr).toContain("a password is required");
    } finally {
      multi.setSudo(true);
    }
    expect((await multi.ssh("sudo -n id -u")).stdout).toBe("0\n");
    expect(hostSudoers()).toEqual(sudoersBefore);
    expect(fs.readFileSync("/etc/sudoers", "utf8")).not.toContain("cxb");
  });
});
