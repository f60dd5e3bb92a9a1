// Parsing the builder probe's output and classifying ssh failures.
import { describe, expect, it } from "vitest";
import { classifySshFailure } from "../../src/core/diagnosis/ssh.js";
import { PROBE_BEGIN, PROBE_END, parseProbeOutput } from "../../src/core/builders/probe.js";

const body = (lines: string[], noise = "") => `${noise}${PROBE_BEGIN}\n${lines.join("\n")}\n${PROBE_END}\n`;

describe("parseProbeOutput", () => {
  it("reads a single-user builder (trusted because it owns the store)", () => {
    const facts = parseProbeOutput(
      body([
        "user=cxb2",
        "groups=cxb2",
        "uname=Linux x86_64",
        "nix-daemon=/usr/bin/nix-daemon",
        "nix-store=/usr/bin/nix-store",
        "nix-version=nix (Nix) 2.8.0",
        "conf-extra-platforms = aarch64-linux i686-linux",
        "conf-system = x86_64-linux",
        "conf-system-features = benchmark big-parallel nixos-test",
        "conf-trusted-users = root",
        "store-writable=yes",
        "cpus=2",
        "disk=/dev/vda 263174212 22000000 83000000 22% /",
      ]),
    );
    expect(facts).not.toBeNull();
    expect(facts!.systems).toEqual(["x86_64-linux", "aarch64-linux", "i686-linux"]);
    expect(facts!.features).toEqual(["benchmark", "big-parallel", "nixos-test"]);
    expect(facts!.trusted).toBe(true);
    expect(facts!.trustSource).toBe("single-user-store");
    expect(facts!.nixVersion).toBe("2.8.0");
    expect(facts!.cpus).toBe(2);
    expect(facts!.freeBytes).toBe(83000000 * 1024);
    expect(facts!.shellNoise).toBe("");
  });

  it("decides trust from trusted-users behind a daemon, including @groups", () => {
    const base = ["user=alice", "groups=alice wheel", "daemon-socket=yes", "conf-system = x86_64-linux"];
    expect(parseProbeOutput(body([...base, "conf-trusted-users = root"]))!.trusted).toBe(false);
    expect(parseProbeOutput(body([...base, "conf-trusted-users = root @wheel"]))!.trusted).toBe(true);
    expect(parseProbeOutput(body([...base, "conf-trusted-users = root alice"]))!.trusted).toBe(true);
  });

  it("prefers the daemon's own answer (Nix 2.15+ store info)", () => {
    const facts = parseProbeOutput(
      body([
        "user=alice",
        "daemon-socket=yes",
        "conf-trusted-users = alice",
        'store-info={"trusted":false,"url":"daemon","version":"2.24.9"}',
      ]),
    );
    expect(facts!.trusted).toBe(false);
    expect(facts!.trustSource).toBe("store-info");
  });

  it("keeps what the login shell printed before the script and Nix outside PATH", () => {
    const facts = parseProbeOutput(
      body(["user=u", "nix-daemon=", "candidate=/nix/var/nix/profiles/default/bin"], "Welcome to the builder!\n"),
    );
    expect(facts!.shellNoise).toBe("Welcome to the builder!\n");
    expect(facts!.onPath.nixDaemon).toBeNull();
    expect(facts!.candidates).toEqual(["/nix/var/nix/profiles/default/bin"]);
  });

  it("returns null when the script never ran", () => {
    expect(parseProbeOutput("")).toBeNull();
    expect(parseProbeOutput(`${PROBE_BEGIN}\nuser=x\n`)).toBeNull();
  });
});

describe("classifySshFailure", () => {
  it.each([
    ["ssh: connect to host 127.0.0.9 port 2209: Connection refused", "refused"],
    ["Host key verification failed.", "host-key-unknown"],
    ["@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @", "host-key-changed"],
    ["cxb1@127.0.0.2: Permission denied (publickey).", "auth"],
    ["ssh: Could not resolve hostname nope.invalid: Name or service not known", "dns"],
    ["Connection timed out during banner exchange", "timeout"],
    ['Load key "/etc/nix/crossnix/x_ed25519": No such file or directory', "key-permissions"],
  ])("%s", (stderr, cause) => {
    expect(classifySshFailure(stderr, { host: "b" }).cause).toBe(cause);
  });

  it("a timeout with no message is a timeout; a missing ssh binary is named", () => {
    expect(classifySshFailure("", { host: "b", timedOut: true }).cause).toBe("timeout");
    expect(classifySshFailure("", { host: "b", spawnError: "ENOENT: spawn ssh" }).cause).toBe("ssh-missing");
  });
});
