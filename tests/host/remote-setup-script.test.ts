// The scripts setup-remote runs on the builder, run here by /bin/sh on files in a temporary
// directory: the root script's checks, backup, mode-keeping replacement and restart dispatch, and
// how the sudo wrapper hands over to sudo (a recording stand-in for sudo on PATH).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseApplyOutput, ROOT_SCRIPT, SUDO_SCRIPT } from "../../src/core/builders/remote-trust.js";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "crossnix-remote-script-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const cksum = (file: string) => spawnSync("sh", ["-c", 'cksum < "$1"', "sh", file], { encoding: "utf8" }).stdout.trim();
const root = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync("/bin/sh", ["-c", ROOT_SCRIPT, "sh", ...args], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"], ...env },
  });
  return { ...r, report: parseApplyOutput(r.stdout, r.stderr, r.status) };
};

describe("ROOT_SCRIPT", () => {
  it("backs the file up next to itself and replaces it, keeping its mode and every byte given", () => {
    const file = path.join(dir, "nix.conf");
    fs.writeFileSync(file, "trusted-users = root\n");
    fs.chmodSync(file, 0o640);
    const content = "trusted-users = root alice\n# 'quotes' \"and\" $dollars `ticks` \\ -n\n\n";
    const r = root([file, cksum(file), content, `${file}.bak`, "none"]);
    expect(r.report).toEqual({ kind: "done", written: true, restarted: false });
    expect(fs.readFileSync(file, "utf8")).toBe(content);
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    expect(fs.readFileSync(`${file}.bak`, "utf8")).toBe("trusted-users = root\n");
    expect(fs.readdirSync(dir).sort()).toEqual(["nix.conf", "nix.conf.bak"]);
  });

  it("writes nothing when the file changed since it was read", () => {
    const file = path.join(dir, "nix.conf");
    fs.writeFileSync(file, "trusted-users = root\n");
    const stale = cksum(file);
    fs.writeFileSync(file, "trusted-users = root bob\n");
    const r = root([file, stale, "x\n", `${file}.bak`, "systemd"]);
    expect(r.report).toMatchObject({ kind: "failed", written: false, conflict: true });
    expect(fs.readFileSync(file, "utf8")).toBe("trusted-users = root bob\n");
    expect(fs.readdirSync(dir)).toEqual(["nix.conf"]);
  });

  it("creates a missing file 0644 only if it is still missing", () => {
    const file = path.join(dir, "nix.custom.conf");
    expect(root([file, "absent", "trusted-users = root alice\n", "-", "none"]).report).toMatchObject({
      kind: "done",
      written: true,
    });
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    expect(root([file, "absent", "other\n", "-", "none"]).report).toMatchObject({
      kind: "failed",
      conflict: true,
      written: false,
    });
    expect(fs.readFileSync(file, "utf8")).toBe("trusted-users = root alice\n");
  });

  it("refuses to write through a symlink", () => {
    const target = path.join(dir, "real.conf");
    const file = path.join(dir, "nix.conf");
    fs.writeFileSync(target, "a = b\n");
    fs.symlinkSync(target, file);
    expect(root([file, cksum(target), "x\n", `${file}.bak`, "none"]).report).toMatchObject({
      kind: "failed",
      written: false,
    });
    expect(fs.readFileSync(target, "utf8")).toBe("a = b\n");
  });

  it("restarts through systemctl / launchctl, and reports a failed restart after the write", () => {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const log = path.join(dir, "calls");
    for (const name of ["systemctl", "launchctl"]) {
      fs.writeFileSync(
        path.join(bin, name),
        `#!/bin/sh\necho "${name} $*" >> '${log}'\n[ -z "$FAIL" ] || { echo nope >&2; exit 1; }\n`,
        { mode: 0o755 },
      );
    }
    const env = { PATH: `${bin}:${process.env["PATH"]}` };
    expect(root(["/unused", "-", "", "-", "systemd"], env).report).toEqual({
      kind: "done",
      written: false,
      restarted: true,
    });
    expect(root(["/unused", "-", "", "-", "launchd:systems.determinate.nix-daemon"], env).report).toMatchObject({
      kind: "done",
      restarted: true,
    });
    expect(fs.readFileSync(log, "utf8")).toBe(
      "systemctl restart nix-daemon.service\nlaunchctl kickstart -k system/systems.determinate.nix-daemon\n",
    );
    const file = path.join(dir, "nix.conf");
    fs.writeFileSync(file, "a = b\n");
    const failed = root([file, cksum(file), "a = c\n", `${file}.bak`, "systemd"], { ...env, FAIL: "1" });
    expect(failed.report).toEqual({
      kind: "failed",
      written: true,
      conflict: false,
      message: "systemctl restart nix-daemon.service: nope",
    });
  });
});

describe("SUDO_SCRIPT", () => {
  const withSudo = (mode: string, input?: string, sudoBody?: string) => {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin, { recursive: true });
    const log = path.join(dir, "sudo-args");
    // Records its options and stdin's first line, then runs the command (as this user).
    fs.writeFileSync(
      path.join(bin, "sudo"),
      sudoBody ??
        `#!/bin/sh\nprintf '%s\\n' "$1 $2 $3 $4" > '${log}'\nif [ "$1" = -S ]; then IFS= read -r pw; echo "pw=$pw" >> '${log}'; shift 4; else shift 2; fi\nexec "$@"\n`,
      { mode: 0o755 },
    );
    const file = path.join(dir, "nix.conf");
    const r = spawnSync(
      "/bin/sh",
      ["-c", SUDO_SCRIPT, "sh", mode, ROOT_SCRIPT, file, "absent", "x = y\n", "-", "none"],
      {
        encoding: "utf8",
        env: { PATH: `${bin}:/usr/bin:/bin` },
        ...(input !== undefined ? { input } : {}),
      },
    );
    return {
      report: parseApplyOutput(r.stdout, r.stderr, r.status),
      log: fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "",
    };
  };

  it("batch mode is sudo -n; password mode is sudo -S with the password as stdin's first line", () => {
    expect(withSudo("batch")).toMatchObject({ report: { kind: "done", written: true }, log: "-n -- /bin/sh -c\n" });
    fs.rmSync(path.join(dir, "nix.conf"));
    expect(withSudo("password", "s3cret\n")).toMatchObject({ report: { kind: "done" }, log: "-S -p  --\npw=s3cret\n" });
  });

  it("a sudo that refuses runs nothing", () => {
    const r = withSudo("batch", undefined, "#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n");
    expect(r.report).toEqual({ kind: "no-sudo", missing: false, message: "sudo: a password is required" });
    expect(fs.existsSync(path.join(dir, "nix.conf"))).toBe(false);
  });
});
