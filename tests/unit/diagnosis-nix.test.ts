// diagnoseNixOutput on captured Nix output: one describe per failure of docs/nix-errors.md.
import { describe, expect, it } from "vitest";
import { diagnoseNixOutput, type NixDiagnosis, stripAnsi } from "../../src/core/diagnosis/index.js";

const causes = (out: NixDiagnosis[]) => out.map((d) => d.cause);
const one = (stderr: string): NixDiagnosis => {
  const out = diagnoseNixOutput(stderr);
  expect(out, JSON.stringify(out, null, 2)).toHaveLength(1);
  return out[0]!;
};

const DRV = "/nix/store/5k2qf8x1yq6ndv3hv4x6wbb0cj0pylbd-hello-2.12.1.drv";
const RED = "\x1b[31;1m";
const MAG = "\x1b[35;1m";
const OFF = "\x1b[0m";

describe("stripAnsi", () => {
  it("removes SGR colours, erase-line and OSC hyperlinks, keeps the text", () => {
    expect(stripAnsi(`${RED}error:${OFF} Cannot build '${MAG}${DRV}${OFF}'.\x1b[K`)).toBe(
      `error: Cannot build '${DRV}'.`,
    );
    expect(stripAnsi("\x1b]8;;https://nixos.org\x07link\x1b]8;;\x07")).toBe("link");
    expect(stripAnsi("plain")).toBe("plain");
  });
});

describe("nothing recognised", () => {
  it("returns [] for empty input", () => {
    expect(diagnoseNixOutput("")).toEqual([]);
    expect(diagnoseNixOutput("\n\n")).toEqual([]);
  });

  it("does not report anything for a successful remote build (nix-build 2.8 and nix build -L)", () => {
    const nixBuild = [
      "these 2 derivations will be built:",
      "  /nix/store/9vcl8gfx0kfhy1rrl9cr3pbi5s0n4ypl-probe-input.drv",
      `  ${DRV}`,
      "building '/nix/store/9vcl8gfx0kfhy1rrl9cr3pbi5s0n4ypl-probe-input.drv' on 'ssh-ng://cx-b2'...",
      "copying 1 paths...",
      "copying path '/nix/store/1xk7w3l9cr3pbi5s0n4ypl9vcl8gfx0k-probe-input' from 'ssh-ng://cx-b2'...",
      `building '${DRV}' on 'ssh://cx-b2'...`,
      "Warning: Permanently added '[127.0.0.2]:2202' (ED25519) to the list of known hosts.",
      "/nix/store/1xk7w3l9cr3pbi5s0n4ypl9vcl8gfx0k-hello-2.12.1",
    ].join("\n");
    expect(diagnoseNixOutput(nixBuild)).toEqual([]);
    const withLogs = [
      "hello> unpacking sources",
      "hello> checking whether ssh: connect to host x port 22: Connection refused is handled... yes",
      "hello> bash: nix-store: command not found (expected by the test suite)",
      "hello> protocol mismatch, got 'x' (a test fixture)",
      "hello> builder for 'x' failed with exit code 1",
      "warning: Git tree '/home/me/src' is dirty",
      "trace: evaluation warning: something is deprecated",
    ].join("\n");
    expect(diagnoseNixOutput(withLogs)).toEqual([]);
  });

  it("ignores a bare EOF or protocol error of the local daemon when no builder is in sight", () => {
    expect(diagnoseNixOutput("error: Nix daemon disconnected unexpectedly (maybe it crashed?)")).toEqual([]);
    expect(
      diagnoseNixOutput("error: cannot open connection to remote store 'daemon': error: unexpected end-of-file"),
    ).toEqual([]);
  });
});

describe("host key not accepted by root (ssh stderr inside Nix's message)", () => {
  it("ssh:// appends ssh's stderr to 'cannot build on' (2.1+, #2030)", () => {
    const d = one(
      "cannot build on 'ssh://nix@127.0.31.194': error: cannot connect to 'nix@127.0.31.194': Host key verification failed.",
    );
    expect(d.cause).toBe("host-key-unknown");
    expect(d.builder).toBe("ssh://nix@127.0.31.194");
    expect(d.evidence).toContain("Host key verification failed.");
    expect(d.fix).toMatch(/crossnix builder add/);
  });

  it("2.15+ wording: failed to start SSH connection + ssh stderr", () => {
    const d = one(
      "cannot build on 'ssh://b1': error: failed to start SSH connection to 'b1': Host key verification failed.",
    );
    expect(d.cause).toBe("host-key-unknown");
    expect(d.nixVersions).toBe("2.15+");
  });

  it("a changed host key: ssh's multi-line banner follows the ssh:// line", () => {
    const out = diagnoseNixOutput(
      [
        "cannot build on 'ssh://cx-b2': error: failed to start SSH connection to 'cx-b2': @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
        "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
        "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
        "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
        "The fingerprint for the ED25519 key sent by the remote host is",
        "SHA256:3nDQ0gAqJ1C8X3rWq2o3Xk7u1tq0mE8m6tXw0vJ3bYk.",
        "Please contact your system administrator.",
        "Add correct host key in /tmp/nix-12-1/known_hosts to get rid of this message.",
        "Host key for cx-b2 has changed and you have requested strict checking.",
        "Host key verification failed.",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["host-key-changed"]);
    expect(out[0]!.builder).toBe("ssh://cx-b2");
    expect(out[0]!.evidence).toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");
    expect(out[0]!.fix).toContain("crossnix doctor --builder cx-b2 --fix");
  });

  it("ssh-ng in single-user Nix: ssh's stderr comes before Nix's line", () => {
    const out = diagnoseNixOutput(
      [
        "No ED25519 host key is known for cx-b2 and you have requested strict checking.",
        "Host key verification failed.",
        "cannot build on 'ssh-ng://cx-b2': error: failed to start SSH connection to 'cx-b2'",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["host-key-unknown"]);
    expect(out[0]!.builder).toBe("ssh-ng://cx-b2");
  });
});

describe("failed to start SSH connection (2.15+)", () => {
  it("ssh-ng through the daemon: ssh's reason is only in the daemon's log", () => {
    const d = one(
      "cannot build on 'ssh-ng://builder@linux-builder': error: failed to start SSH connection to 'builder@linux-builder'",
    );
    expect(d.cause).toBe("ssh-connect-failed");
    expect(d.builder).toBe("ssh-ng://builder@linux-builder");
    expect(d.nixVersions).toBe("2.15+");
    expect(d.fix).toContain("sudo ssh builder@linux-builder");
  });

  it("classifies the ssh part: refused, auth, dns, timeout", () => {
    expect(
      one(
        "cannot build on 'ssh://builder@localhost': error: failed to start SSH connection to 'builder@localhost': ssh: connect to host localhost port 22: Connection refused",
      ).cause,
    ).toBe("refused");
    expect(
      one(
        "cannot build on 'ssh://nix@mac': error: failed to start SSH connection to 'nix@mac': nix@mac: Permission denied (publickey,keyboard-interactive).",
      ).cause,
    ).toBe("auth");
    expect(
      one(
        "cannot build on 'ssh://nix@nope.lan': error: failed to start SSH connection to 'nix@nope.lan': ssh: Could not resolve hostname nope.lan: Name or service not known",
      ).cause,
    ).toBe("dns");
    expect(
      one(
        "cannot build on 'ssh://b': error: failed to start SSH connection to 'b': ssh: connect to host 127.0.0.9 port 22: Connection timed out",
      ).cause,
    ).toBe("timeout");
  });

  it("standalone (nix store info --store ssh-ng://…): the host is the builder", () => {
    const out = diagnoseNixOutput(
      ["nix@b2: Permission denied (publickey).", "error: failed to start SSH connection to 'nix@b2'"].join("\n"),
    );
    expect(causes(out)).toEqual(["auth"]);
    expect(out[0]!.builder).toBe("nix@b2");
  });
});

describe("unable to execute 'ssh'", () => {
  it("2.3: inside the ssh:// message (#4322), with the lower-case pre-2.4 'unable to start any build'", () => {
    const out = diagnoseNixOutput(
      [
        "these derivations will be built:",
        "  /nix/store/dj872la65ipl1m2rlp33xa5wamjpi75p-happy-1.20.0.drv",
        "cannot build on 'ssh://nix@build01.tweag.io': writing to file: Broken pipe: error: unable to execute 'ssh': No such file or directory",
        "error: unable to start any build; either increase '--max-jobs' or enable remote builds",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["ssh-missing", "local-builds-disabled"]);
    expect(out[0]!.builder).toBe("ssh://nix@build01.tweag.io");
    expect(out[1]!.nixVersions).toBe("≤2.3");
  });

  it("newer ssh-ng: the child's error line, then the connection failure, then the machine list (home-manager#5589)", () => {
    const out = diagnoseNixOutput(
      [
        "error: unable to execute 'ssh': No such file or directory",
        "cannot build on 'ssh-ng://nixbuilder': error: failed to start SSH connection to 'nixbuilder'",
        "Failed to find a machine for remote build!",
        "derivation: qjzvj1y2yqi7jarf7930djq7p9gp9p24-user-environment.drv",
        "required (system, features): (builtin, [])",
        "1 available machines:",
        "(systems, maxjobs, supportedFeatures, mandatoryFeatures)",
        "([x86_64-linux, i686-linux, aarch64-linux], 1, [benchmark, big-parallel], [])",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["ssh-missing", "no-suitable-machine"]);
    expect(out[0]!.builder).toBe("ssh-ng://nixbuilder");
    expect(out[0]!.evidence).toContain("unable to execute 'ssh': No such file or directory");
    expect(out[1]).toMatchObject({
      system: "builtin",
      features: [],
      drv: "qjzvj1y2yqi7jarf7930djq7p9gp9p24-user-environment.drv",
    });
    expect(out[1]!.summary).toMatch(/disabled for this run after failing to connect/);
  });
});

describe("remote program not on the non-interactive PATH", () => {
  it("ssh://: zsh's 'command not found: nix-store' + cannot connect to 'host'", () => {
    const d = one(
      "cannot build on 'ssh://nix@mac-mini': error: cannot connect to 'nix@mac-mini': zsh:1: command not found: nix-store",
    );
    expect(d.cause).toBe("remote-program-not-found");
    expect(d.builder).toBe("ssh://nix@mac-mini");
    expect(d.fix).toContain("ssh://nix@mac-mini?remote-program=/nix/var/nix/profiles/default/bin/nix-store");
  });

  it("ssh://: bash's form on the next line", () => {
    const d = one(
      ["cannot build on 'ssh://b3': error: cannot connect to 'b3': bash: line 1: nix-store: command not found"].join(
        "\n",
      ),
    );
    expect(d.cause).toBe("remote-program-not-found");
  });

  it("ssh-ng single-user: 'nix-daemon: command not found' before 'unexpected end-of-file' (≤2.19)", () => {
    const out = diagnoseNixOutput(
      [
        "bash: nix-daemon: command not found",
        "cannot build on 'ssh-ng://nix@mac': error: cannot open connection to remote store 'ssh-ng://nix@mac': error: unexpected end-of-file",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["remote-program-not-found"]);
    expect(out[0]!.fix).toContain("ssh-ng://nix@mac?remote-program=/nix/var/nix/profiles/default/bin/nix-daemon");
  });

  it("ssh-ng 2.20+: 'Nix daemon disconnected unexpectedly (maybe it crashed?)' + dash's 'not found'", () => {
    const out = diagnoseNixOutput(
      [
        "sh: 1: nix-daemon: not found",
        "cannot build on 'ssh-ng://b': error: cannot open connection to remote store 'ssh-ng://b': error: Nix daemon disconnected unexpectedly (maybe it crashed?)",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["remote-program-not-found"]);
    expect(out[0]!.nixVersions).toBe("2.20+");
  });

  it("without the shell's line (it went to the daemon's log): remote-connection-closed, pointing at remote-program", () => {
    const eof = one(
      "cannot build on 'ssh-ng://nix@mac': error: cannot open connection to remote store 'ssh-ng://nix@mac': error: unexpected end-of-file",
    );
    expect(eof.cause).toBe("remote-connection-closed");
    expect(eof.nixVersions).toMatch(/≤2\.19/);
    expect(eof.fix).toContain("remote-program=/nix/var/nix/profiles/default/bin/nix-daemon");
    const disc = one(
      "cannot build on 'ssh-ng://nix@mac': error: cannot open connection to remote store 'ssh-ng://nix@mac': error: Nix daemon disconnected unexpectedly (maybe it crashed?)",
    );
    expect(disc.cause).toBe("remote-connection-closed");
    expect(disc.summary).toMatch(/not on the PATH/);
    const serve = one("cannot build on 'ssh://nix@mac': error: cannot connect to 'nix@mac'");
    expect(serve.cause).toBe("remote-connection-closed");
    expect(serve.fix).toContain("nix-store --version");
  });

  it("a wrong absolute remote-program path", () => {
    const d = one(
      "cannot build on 'ssh://b?remote-program=/opt/nix/bin/nix-store': error: cannot connect to 'b': bash: /opt/nix/bin/nix-store: No such file or directory",
    );
    expect(d.cause).toBe("remote-program-not-found");
    expect(d.summary).toMatch(/remote-program path/);
  });

  it("fish and tcsh wordings", () => {
    expect(one("cannot build on 'ssh://b': error: cannot connect to 'b': fish: Unknown command: nix-store").cause).toBe(
      "remote-program-not-found",
    );
    expect(one("cannot build on 'ssh://b': error: cannot connect to 'b': nix-store: Command not found.").cause).toBe(
      "remote-program-not-found",
    );
  });
});

describe("protocol mismatch: the remote shell writes to stdout", () => {
  it("ssh-ng 2.4+: protocol mismatch, got '…'", () => {
    const d = one(
      "cannot build on 'ssh-ng://b': error: cannot open connection to remote store 'ssh-ng://b': error: protocol mismatch, got 'Welcome to build-box!'",
    );
    expect(d.cause).toBe("protocol-mismatch-shell-noise");
    expect(d.nixVersions).toBe("2.4+");
    expect(d.summary).toContain("Welcome to build-box!");
  });

  it("ssh:// 2.4+: 'nix-store --serve' protocol mismatch from 'host', got '…' (nologin)", () => {
    const d = one(
      "cannot build on 'ssh://nix@b': error: 'nix-store --serve' protocol mismatch from 'nix@b', got 'This account is currently not available.'",
    );
    expect(d.cause).toBe("protocol-mismatch-shell-noise");
    expect(d.summary).toMatch(/nologin/);
    expect(d.builder).toBe("ssh://nix@b");
  });

  it("the noise may span several lines", () => {
    const out = diagnoseNixOutput(
      [
        "cannot build on 'ssh://b': error: 'nix-store --serve' protocol mismatch from 'b', got 'Hello",
        "from .bashrc'",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["protocol-mismatch-shell-noise"]);
  });

  it("≤2.3 wordings: serialised integer … is too large, protocol mismatch with 'nix-store --serve'", () => {
    const a = one("cannot build on 'ssh-ng://b': serialised integer 7237087983586754917 is too large for type 'j'");
    expect(a.cause).toBe("protocol-mismatch-shell-noise");
    expect(a.nixVersions).toMatch(/≤2\.3/);
    const b = one("cannot build on 'ssh://b': protocol mismatch with 'nix-store --serve' on 'b'");
    expect(b.cause).toBe("protocol-mismatch-shell-noise");
  });

  it("standalone (nix store info): the host named in the message is the builder", () => {
    const d = one("error: 'nix-store --serve' protocol mismatch from 'nix@b', got 'motd'");
    expect(d).toMatchObject({ cause: "protocol-mismatch-shell-noise", builder: "nix@b" });
  });
});

describe("the builder's daemon does not trust the SSH user", () => {
  it("2.4+: you are not privileged to build input-addressed derivations; the hook's exit 1 is not a build failure", () => {
    const out = diagnoseNixOutput(
      [
        "these 2 derivations will be built:",
        `  ${DRV}`,
        `building '${DRV}' on 'ssh-ng://cx-b2'...`,
        "error: you are not privileged to build input-addressed derivations",
        `error: builder for '${DRV}' failed with exit code 1`,
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["remote-untrusted"]);
    expect(out[0]).toMatchObject({ builder: "ssh-ng://cx-b2", drv: DRV, nixVersions: "2.4+" });
    expect(out[0]!.fix).toContain("crossnix builder setup-remote cx-b2");
  });

  it("≤2.3: you are not privileged to build derivations", () => {
    const d = one("error: you are not privileged to build derivations");
    expect(d).toMatchObject({ cause: "remote-untrusted", nixVersions: "≤2.3" });
  });

  it("reported by the hook as 'build of … on … failed: …'", () => {
    const d = one(
      `error: build of '${DRV}' on 'ssh://nix@b' failed: you are not privileged to build input-addressed derivations`,
    );
    expect(d).toMatchObject({ cause: "remote-untrusted", builder: "ssh://nix@b", drv: DRV });
  });

  it("inside a log tail (the hook's error shown as a build log line)", () => {
    const out = diagnoseNixOutput(
      [
        `building '${DRV}' on 'ssh://cx-b2'...`,
        `error: builder for '${DRV}' failed with exit code 1;`,
        "       last 1 log lines:",
        "       > error: you are not privileged to build input-addressed derivations",
        `       For full logs, run 'nix log ${DRV}'.`,
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["remote-untrusted"]);
  });
});

describe("unsigned paths refused by the builder", () => {
  it("2.12+: lacks a signature by a trusted key", () => {
    const out = diagnoseNixOutput(
      [
        "copying 2 paths to 'ssh-ng://nix@b'...",
        "error: cannot add path '/nix/store/gs7mh6q22l1ivxazxja2mjlsdwhw8zg9-libunistring-0.9.10' because it lacks a signature by a trusted key",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["signature-missing"]);
    expect(out[0]).toMatchObject({ builder: "ssh-ng://nix@b", nixVersions: "2.12+" });
    expect(out[0]!.fix).toMatch(/builders-use-substitutes|trusted-public-keys/);
  });

  it("≤2.11: lacks a valid signature (#2254)", () => {
    const d = one(
      "error: cannot add path '/nix/store/3mk5pl4l7van3jp6clzwyj11pcd60yd2-brotli-1.0.3.drv' because it lacks a valid signature",
    );
    expect(d).toMatchObject({ cause: "signature-missing", nixVersions: "≤2.11" });
  });
});

describe("no suitable machine", () => {
  it("≤2.29: a 'aarch64-linux' with features {} is required to build '…', but I am a 'x86_64-linux' with features {…}", () => {
    const d = one(
      `error: a 'aarch64-linux' with features {} is required to build '${DRV}', but I am a 'x86_64-linux' with features {benchmark, big-parallel, kvm, nixos-test}`,
    );
    expect(d).toMatchObject({ cause: "no-suitable-machine", system: "aarch64-linux", features: [], drv: DRV });
    expect(d.nixVersions).toMatch(/≤2\.29/);
    expect(d.fix).toContain("crossnix builder add <destination> --system aarch64-linux");
  });

  it("≤2.29 with required features", () => {
    const d = one(
      `error: a 'x86_64-linux' with features {kvm, nixos-test} is required to build '${DRV}', but I am a 'aarch64-darwin' with features {benchmark, big-parallel, nixos-test}`,
    );
    expect(d).toMatchObject({ system: "x86_64-linux", features: ["kvm", "nixos-test"] });
    expect(d.fix).toContain("--feature kvm --feature nixos-test");
  });

  it("2.30–2.33: Cannot build '…'. Reason: required system or feature not available", () => {
    const d = one(
      [
        `${RED}error:${OFF} Cannot build '${MAG}${DRV}${OFF}'.`,
        `       Reason: ${RED}required system or feature not available${OFF}`,
        `       Required system: '${MAG}aarch64-linux${OFF}' with features {big-parallel}`,
        `       Current system: '${MAG}aarch64-darwin${OFF}' with features {apple-virt, benchmark, big-parallel, nixos-test}`,
      ].join("\n"),
    );
    expect(d).toMatchObject({
      cause: "no-suitable-machine",
      system: "aarch64-linux",
      features: ["big-parallel"],
      drv: DRV,
    });
    expect(d.nixVersions).toMatch(/2\.30–2\.33/);
  });

  it("2.34+: Reason: platform mismatch", () => {
    const d = one(
      [
        `error: Cannot build '${DRV}'.`,
        "       Reason: platform mismatch",
        "       Required system: 'x86_64-linux'",
        "       Current system: 'aarch64-darwin'",
      ].join("\n"),
    );
    expect(d).toMatchObject({ cause: "no-suitable-machine", system: "x86_64-linux", drv: DRV });
    expect(d.nixVersions).toMatch(/2\.34\+/);
  });

  it("2.34+: Reason: missing system features", () => {
    const d = one(
      [
        `error: Cannot build '${DRV}'.`,
        "       Reason: missing system features",
        "       Required features: {kvm}",
        "       Available features: {benchmark, big-parallel, nixos-test, uid-range}",
      ].join("\n"),
    );
    expect(d).toMatchObject({ cause: "no-suitable-machine", features: ["kvm"] });
  });

  it("2.34+: local builds are disabled together with a platform mismatch: one finding", () => {
    const d = one(
      [
        `error: Cannot build '${DRV}'.`,
        "       Reason: local builds are disabled (max-jobs = 0)",
        "       Hint: set 'max-jobs' to a non-zero value to enable local builds, or configure remote builders via 'builders'",
        "       Reason: platform mismatch",
        "       Required system: 'aarch64-linux'",
        "       Current system: 'x86_64-linux'",
      ].join("\n"),
    );
    expect(d).toMatchObject({ cause: "no-suitable-machine", system: "aarch64-linux" });
    expect(d.summary).toMatch(/max-jobs = 0/);
  });

  it("2.34+: local builds are disabled (max-jobs = 0) alone", () => {
    const d = one(
      [
        `error: Cannot build '${DRV}'.`,
        "       Reason: local builds are disabled (max-jobs = 0)",
        "       Hint: set 'max-jobs' to a non-zero value to enable local builds, or configure remote builders via 'builders'",
      ].join("\n"),
    );
    expect(d).toMatchObject({ cause: "local-builds-disabled", drv: DRV });
  });

  it("the hook's list (2.12+ format): no builder lists the system", () => {
    const d = one(
      [
        "Failed to find a machine for remote build!",
        "derivation: 5k2qf8x1yq6ndv3hv4x6wbb0cj0pylbd-hello-2.12.1.drv",
        "required (system, features): (aarch64-linux, [])",
        "1 available machines:",
        "(systems, maxjobs, supportedFeatures, mandatoryFeatures)",
        "([x86_64-linux], 4, [benchmark, big-parallel], [])",
      ].join("\n"),
    );
    expect(d).toMatchObject({ cause: "no-suitable-machine", system: "aarch64-linux", features: [] });
    expect(d.summary).toMatch(/no builder lists the system aarch64-linux/);
  });

  it("the hook's list: the builder lacks a feature (empty features column)", () => {
    const d = one(
      [
        "Failed to find a machine for remote build!",
        "derivation: 5k2qf8x1yq6ndv3hv4x6wbb0cj0pylbd-hello-2.12.1.drv",
        "required (system, features): (x86_64-linux, [big-parallel, kvm])",
        "1 available machines:",
        "(systems, maxjobs, supportedFeatures, mandatoryFeatures)",
        "([x86_64-linux], 4, [], [])",
      ].join("\n"),
    );
    expect(d.features).toEqual(["big-parallel", "kvm"]);
    expect(d.summary).toMatch(/big-parallel, kvm/);
    expect(d.fix).toContain("--feature big-parallel --feature kvm");
  });

  it("the hook's list: a mandatory feature the derivation does not require", () => {
    const d = one(
      [
        "Failed to find a machine for remote build!",
        "derivation: 5k2qf8x1yq6ndv3hv4x6wbb0cj0pylbd-hello-2.12.1.drv",
        "required (system, features): (x86_64-linux, [])",
        "1 available machines:",
        "(systems, maxjobs, supportedFeatures, mandatoryFeatures)",
        "([x86_64-linux], 4, [big-parallel], [big-parallel])",
      ].join("\n"),
    );
    expect(d.summary).toMatch(/mandatory/);
  });

  it("the hook's list, 2.4–2.11 format without brackets (#6867)", () => {
    const d = one(
      [
        "Failed to find a machine for remote build!",
        "derivation: xmkzxzjxay17cd31ap7nfgwr4dzh0xag-source-repository-package.drv",
        "required (system, features): (x86_64-linux, )",
        "1 available machines:",
        "(systems, maxjobs, supportedFeatures, mandatoryFeatures)",
        "(x86_64-linux, 24, benchmark, big-parallel, kvm, )",
      ].join("\n"),
    );
    expect(d).toMatchObject({ cause: "no-suitable-machine", system: "x86_64-linux", features: [] });
    // A matching machine exists: it was disabled after a connection failure (root's host key, #6867).
    expect(d.summary).toMatch(/disabled for this run/);
  });

  it("the hook's list and the local message for the same derivation merge into one finding", () => {
    const out = diagnoseNixOutput(
      [
        "Failed to find a machine for remote build!",
        "derivation: 5k2qf8x1yq6ndv3hv4x6wbb0cj0pylbd-hello-2.12.1.drv",
        "required (system, features): (aarch64-linux, [])",
        "0 available machines:",
        "(systems, maxjobs, supportedFeatures, mandatoryFeatures)",
        `error: a 'aarch64-linux' with features {} is required to build '${DRV}', but I am a 'x86_64-linux' with features {benchmark}`,
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["no-suitable-machine"]);
    expect(out[0]!.summary).toMatch(/no builder is configured as the Nix daemon sees it/);
    expect(out[0]!.evidence).toContain("is required to build");
  });
});

describe("Unable to start any build", () => {
  it("≤2.3: lower case, no full stop", () => {
    const d = one("error: unable to start any build; either increase '--max-jobs' or enable remote builds");
    expect(d).toMatchObject({ cause: "local-builds-disabled", nixVersions: "≤2.3" });
  });

  it("2.4–2.20: lower case with the manual's URL", () => {
    const d = one(
      [
        "error: unable to start any build; either increase '--max-jobs' or enable remote builds.",
        "https://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html",
      ].join("\n"),
    );
    expect(d).toMatchObject({ cause: "local-builds-disabled", nixVersions: "2.4–2.20" });
    const r = one(
      [
        "error: unable to start any build; remote machines may not have all required system features.",
        "https://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html",
      ].join("\n"),
    );
    expect(r).toMatchObject({ cause: "no-suitable-machine", nixVersions: "2.4–2.20" });
  });

  it("2.21–2.29: capitalised, the reason on the next (indented) line", () => {
    const d = one(
      [
        "error:",
        "                        Unable to start any build;",
        "                        either increase '--max-jobs' or enable remote builds.",
        "",
        "                        For more information run 'man nix.conf' and search for '/machines'.",
      ].join("\n"),
    );
    expect(d).toMatchObject({ cause: "local-builds-disabled", nixVersions: "2.21–2.29" });
    const r = one(
      [
        "error:",
        "       Unable to start any build;",
        "       remote machines may not have all required system features.",
      ].join("\n"),
    );
    expect(r).toMatchObject({ cause: "no-suitable-machine", nixVersions: "2.21–2.29" });
  });

  it("2.30+: one line", () => {
    const d = one(
      [
        "error: Unable to start any build; either increase '--max-jobs' or enable remote builds.",
        "",
        "       For more information run 'man nix.conf' and search for '/machines'.",
      ].join("\n"),
    );
    expect(d).toMatchObject({ cause: "local-builds-disabled", nixVersions: "2.30+" });
    expect(d.fix).toContain("crossnix doctor");
    const r = one("error: Unable to start any build; remote machines may not have all required system features.");
    expect(r).toMatchObject({ cause: "no-suitable-machine", nixVersions: "2.30+" });
  });
});

describe("the daemon ignored an untrusted user's builders", () => {
  it("2.22+: client-specified", () => {
    const d = one(
      "warning: ignoring the client-specified setting 'builders', because it is a restricted setting and you are not a trusted user",
    );
    expect(d.cause).toBe("client-builders-ignored");
    expect(d.nixVersions).toMatch(/2\.22\+/);
  });

  it("2.3: user-specified", () => {
    const d = one(
      "warning: ignoring the user-specified setting 'builders', because it is a restricted setting and you are not a trusted user",
    );
    expect(d).toMatchObject({ cause: "client-builders-ignored" });
    expect(d.nixVersions).toMatch(/≤2\.3/);
  });

  it("comes first, before the 'Unable to start any build' it causes", () => {
    const out = diagnoseNixOutput(
      [
        "warning: ignoring the client-specified setting 'builders', because it is a restricted setting and you are not a trusted user",
        "error: Unable to start any build; either increase '--max-jobs' or enable remote builds.",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["client-builders-ignored", "local-builds-disabled"]);
  });
});

describe("daemon socket refused", () => {
  it("the builder's daemon, when the output names the builder (#10136)", () => {
    const out = diagnoseNixOutput(
      [
        `building '${DRV}' on 'ssh-ng://nix@b4'...`,
        "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["remote-daemon-down"]);
    expect(out[0]!.builder).toBe("ssh-ng://nix@b4");
  });

  it("inside an ssh:// failure: the remote nix-store's own error follows Nix's line", () => {
    const out = diagnoseNixOutput(
      [
        "cannot build on 'ssh://b4': error: cannot connect to 'b4': error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["remote-daemon-down"]);
    const next = diagnoseNixOutput(
      [
        "cannot build on 'ssh://b4': error: cannot connect to 'b4'",
        "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused",
      ].join("\n"),
    );
    expect(causes(next)).toEqual(["remote-daemon-down"]);
    expect(next[0]!.builder).toBe("ssh://b4");
  });

  it("no builder in sight: ambiguous, reported as daemon-down (≤2.3 said 'daemon at')", () => {
    expect(
      one("error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused").cause,
    ).toBe("daemon-down");
    const old = one(
      "error: cannot connect to daemon at '/nix/var/nix/daemon-socket/socket': No such file or directory",
    );
    expect(old).toMatchObject({ cause: "daemon-down", nixVersions: "≤2.3" });
  });
});

describe("machines file parse errors", () => {
  it("2.5+: store URL not at the first column / column conversion", () => {
    const a = one(
      "error: bad machine specification: store URL was not found at the first column of a row: ' - x86_64-linux'",
    );
    expect(a.cause).toBe("machines-file-invalid");
    const b = one(
      "error: bad machine specification: failed to convert column #3 in a row: 'ssh://b x86_64-linux - eight 1' to 'unsigned int'",
    );
    expect(b).toMatchObject({ cause: "machines-file-invalid", builder: "ssh://b", nixVersions: "2.5+" });
    const c = one(
      "error: bad machine specification: failed to convert column #4 in a row: 'ssh://b x86_64-linux - 8 fast' to 'float'",
    );
    expect(c).toMatchObject({ cause: "machines-file-invalid", nixVersions: "2.20+" });
  });

  it("2.5–2.24: a column is not valid base64", () => {
    const d = one(
      "error: bad machine specification: a column #7 in a row: 'ssh://b x86_64-linux - 1 1 - - not!base64' is not valid base64 string: invalid character in Base64 string: '!'",
    );
    expect(d).toMatchObject({ cause: "machines-file-invalid", builder: "ssh://b", nixVersions: "2.5–2.24" });
  });

  it("2.25+: the base64 error with its trace line", () => {
    const d = one(
      [
        "error:",
        "       … while parsing machine specification at a column #7 in a row: 'ssh://b x86_64-linux - 1 1 - - not!base64'",
        "",
        "       error: invalid character in Base64 string: '!'",
      ].join("\n"),
    );
    expect(d).toMatchObject({ cause: "machines-file-invalid", builder: "ssh://b", nixVersions: "2.25+" });
    expect(d.evidence).toContain("invalid character in Base64 string");
  });

  it("≤2.4: bad machine specification '…' and std::stoull", () => {
    expect(one("error: bad machine specification ''").cause).toBe("machines-file-invalid");
    expect(one("error: stoull")).toMatchObject({ cause: "machines-file-invalid", nixVersions: "≤2.4" });
  });

  it("speed factor must be >= 0", () => {
    expect(one("error: speed factor must be >= 0").cause).toBe("machines-file-invalid");
  });
});

describe("extra-builders is not a setting", () => {
  it("unknown setting 'extra-builders'", () => {
    const d = one("warning: unknown setting 'extra-builders'");
    expect(d.cause).toBe("extra-builders-unknown");
    expect(d.fix).toMatch(/builders = @\/etc\/nix\/machines/);
  });

  it("other unknown settings are not ours", () => {
    expect(diagnoseNixOutput("warning: unknown setting 'foo-bar'")).toEqual([]);
  });
});

describe("the build itself failed", () => {
  it("2.4–2.28: builder for '…' failed with exit code N, with its log tail", () => {
    const out = diagnoseNixOutput(
      [
        `${RED}error:${OFF} builder for '\x1b[33;1m${DRV}${OFF}' failed with exit code 2;`,
        "       last 3 log lines:",
        "       > configuring",
        "       > make: *** No rule to make target 'all'.  Stop.",
        "       > ssh: connect to host x port 22: Connection refused",
        `       For full logs, run '\x1b[1mnix log ${DRV}${OFF}'.`,
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["build-failed"]);
    expect(out[0]).toMatchObject({ drv: DRV });
    expect(out[0]!.nixVersions).toMatch(/^≤2\.28/);
    expect(out[0]!.logTail).toEqual([
      "configuring",
      "make: *** No rule to make target 'all'.  Stop.",
      "ssh: connect to host x port 22: Connection refused",
    ]);
    expect(out[0]!.summary).toMatch(/not a remote-build configuration problem/);
    expect(out[0]!.evidence).toContain("> make: *** No rule to make target 'all'.  Stop.");
  });

  it("2.3: '; last N log lines:' on the same line, lines indented by two spaces", () => {
    const out = diagnoseNixOutput(
      [
        `builder for '${DRV}' failed with exit code 1; last 2 log lines:`,
        "  unpacking sources",
        "  bash: nix-store: command not found",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["build-failed"]);
    expect(out[0]!.logTail).toEqual(["unpacking sources", "bash: nix-store: command not found"]);
  });

  it("2.29+: Cannot build '…'. Reason: builder failed with exit code N.", () => {
    const out = diagnoseNixOutput(
      [
        `error: Cannot build '${DRV}'.`,
        "       Reason: builder failed with exit code 2.",
        "       Output paths:",
        "         /nix/store/1xk7w3l9cr3pbi5s0n4ypl9vcl8gfx0k-hello-2.12.1",
        "       Last 2 log lines:",
        "       > checking for gcc... no",
        "       > configure: error: no acceptable C compiler found in $PATH",
        "       For full logs, run:",
        `         nix log ${DRV}`,
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["build-failed"]);
    expect(out[0]!.nixVersions).toMatch(/2\.29\+/);
    expect(out[0]!.logTail).toEqual([
      "checking for gcc... no",
      "configure: error: no acceptable C compiler found in $PATH",
    ]);
  });

  it("on the builder: build of '…' on '…' failed names the builder; the local repeat merges", () => {
    const out = diagnoseNixOutput(
      [
        `building '${DRV}' on 'ssh-ng://cx-b2'...`,
        `error: build of '${DRV}' on 'ssh-ng://cx-b2' failed: builder for '${DRV}' failed with exit code 2`,
        `error: builder for '${DRV}' failed with exit code 1`,
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["build-failed"]);
    expect(out[0]).toMatchObject({ builder: "ssh-ng://cx-b2", drv: DRV });
    expect(out[0]!.summary).toContain("exit code 2");
    expect(out[0]!.summary).toContain("on 'ssh-ng://cx-b2'");
  });

  it("dependency failures are consequences, not findings", () => {
    expect(
      diagnoseNixOutput(
        [
          "error: 1 dependencies of derivation '/nix/store/w8psvbsz4s0y6m60bf167n2hx2hxh7za-nixos-system.drv' failed to build",
          `error: Cannot build '${DRV}'.`,
          "       Reason: 1 dependency failed.",
        ].join("\n"),
      ),
    ).toEqual([]);
  });
});

describe("Nix 2.0", () => {
  it("unable to open SSH connection to '…': …; trying other available machines...", () => {
    const d = one(
      "unable to open SSH connection to 'ssh://root@127.0.31.194': cannot connect to 'root@127.0.31.194'; trying other available machines...",
    );
    expect(d).toMatchObject({
      cause: "remote-connection-closed",
      builder: "ssh://root@127.0.31.194",
      nixVersions: "2.0",
    });
  });
});

describe("realistic multi-line outputs", () => {
  it("several builders failing in one run, then the list, then the local rejection (ANSI, error: prefixes, traces)", () => {
    const out = diagnoseNixOutput(
      [
        "these 3 derivations will be built:",
        `  ${DRV}`,
        "cannot build on 'ssh://nix@b1': error: failed to start SSH connection to 'nix@b1': nix@b1: Permission denied (publickey).",
        "cannot build on 'ssh-ng://b2': error: cannot open connection to remote store 'ssh-ng://b2': error: protocol mismatch, got 'Last login: Mon Jan  1'",
        "cannot build on 'ssh-ng://b3': error: failed to start SSH connection to 'b3'",
        "Failed to find a machine for remote build!",
        "derivation: 5k2qf8x1yq6ndv3hv4x6wbb0cj0pylbd-hello-2.12.1.drv",
        "required (system, features): (aarch64-linux, [big-parallel])",
        "3 available machines:",
        "(systems, maxjobs, supportedFeatures, mandatoryFeatures)",
        "([aarch64-linux], 4, [big-parallel], [])",
        "([aarch64-linux, x86_64-linux], 8, [benchmark, big-parallel], [])",
        "([aarch64-linux], 2, [big-parallel, kvm], [])",
        `${RED}error:${OFF}`,
        `       … while building '${MAG}${DRV}${OFF}'`,
        "",
        `       ${RED}error:${OFF} a 'aarch64-linux' with features {big-parallel} is required to build '${DRV}', but I am a 'x86_64-linux' with features {benchmark, big-parallel, kvm, nixos-test}`,
      ].join("\r\n"),
    );
    expect(causes(out)).toEqual(["auth", "protocol-mismatch-shell-noise", "ssh-connect-failed", "no-suitable-machine"]);
    expect(out.map((d) => d.builder)).toEqual(["ssh://nix@b1", "ssh-ng://b2", "ssh-ng://b3", undefined]);
    expect(out[3]).toMatchObject({ system: "aarch64-linux", features: ["big-parallel"] });
    expect(out[3]!.summary).toMatch(/disabled for this run after failing to connect \(see the finding above\)/);
    for (const d of out) expect(d.evidence).not.toMatch(/\x1b/);
  });

  it("the same builder failing for several derivations is reported once", () => {
    const line =
      "cannot build on 'ssh://nix@b1': error: failed to start SSH connection to 'nix@b1': Host key verification failed.";
    const out = diagnoseNixOutput([line, line, line].join("\n"));
    expect(causes(out)).toEqual(["host-key-unknown"]);
    expect(out[0]!.evidence).toBe(line);
  });

  it("a generic connection failure is absorbed by the specific one for the same builder", () => {
    const out = diagnoseNixOutput(
      [
        "cannot build on 'ssh-ng://nix@mac': error: cannot open connection to remote store 'ssh-ng://nix@mac': error: unexpected end-of-file",
        `building '${DRV}' on 'ssh-ng://nix@mac'...`,
        "error: you are not privileged to build input-addressed derivations",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["remote-untrusted"]);
    expect(out[0]!.evidence).toContain("unexpected end-of-file");
  });

  it("most specific first: configuration faults, then generic connection failures, then missing machines, then max-jobs, then build failures", () => {
    const out = diagnoseNixOutput(
      [
        `error: builder for '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-other.drv' failed with exit code 2`,
        "error: Unable to start any build; either increase '--max-jobs' or enable remote builds.",
        `error: a 'aarch64-linux' with features {} is required to build '${DRV}', but I am a 'x86_64-linux' with features {}`,
        "cannot build on 'ssh-ng://b3': error: failed to start SSH connection to 'b3'",
        "warning: unknown setting 'extra-builders'",
      ].join("\n"),
    );
    expect(causes(out)).toEqual([
      "extra-builders-unknown",
      "ssh-connect-failed",
      "no-suitable-machine",
      "local-builds-disabled",
      "build-failed",
    ]);
  });

  it("every finding has a summary, a fix and evidence", () => {
    const out = diagnoseNixOutput(
      [
        "cannot build on 'ssh://b': error: some failure nobody has seen before",
        "warning: ignoring the client-specified setting 'builders', because it is a restricted setting and you are not a trusted user",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["client-builders-ignored", "unknown"]);
    for (const d of out) {
      expect(d.summary.length).toBeGreaterThan(10);
      expect(d.fix.length).toBeGreaterThan(10);
      expect(d.evidence.length).toBeGreaterThan(0);
    }
    expect(out[1]!.builder).toBe("ssh://b");
  });
});

// Captured verbatim from Nix 2.8.0 (Debian nix-bin) on the development machine: single-user
// nix-build into a throw-away store, `-j0 --builders '…'`, nothing listening on 127.0.0.9:22.
describe("captured from Nix 2.8.0 (nix-build, no daemon)", () => {
  const HEAD = [
    "this derivation will be built:",
    "  /nix/store/k98790952xdx978qd69j0ssbw6cfm92a-crossnix-diag-probe.drv",
  ];
  const LIST = [
    "Failed to find a machine for remote build!",
    "derivation: k98790952xdx978qd69j0ssbw6cfm92a-crossnix-diag-probe.drv",
    "required (system, features): (x86_64-linux, )",
    "1 available machines:",
    "(systems, maxjobs, supportedFeatures, mandatoryFeatures)",
    "(x86_64-linux, 1, , )",
    "error: unable to start any build; remote machines may not have all required system features.",
    "       https://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html",
  ];
  const run = (lines: string[]) => diagnoseNixOutput(`${lines.join("\n")}\n`);

  it("ssh:// with a host name that does not resolve", () => {
    const out = run([
      ...HEAD,
      "cannot build on 'ssh://nobody@no-such-host.invalid': error: cannot connect to 'nobody@no-such-host.invalid': ssh: Could not resolve hostname no-such-host.invalid: Name or service not known",
      ...LIST,
    ]);
    expect(causes(out)).toEqual(["dns", "no-suitable-machine"]);
    expect(out[0]).toMatchObject({ builder: "ssh://nobody@no-such-host.invalid" });
    expect(out[0]!.nixVersions).toMatch(/≤2\.14/);
    expect(out[1]).toMatchObject({ system: "x86_64-linux", features: [], nixVersions: "2.4–2.11" });
    expect(out[1]!.summary).toMatch(/disabled for this run after failing to connect \(see the finding above\)/);
  });

  it("ssh-ng to a closed port: ssh's line (with its CR) comes before Nix's", () => {
    const out = run([
      ...HEAD,
      "ssh: connect to host 127.0.0.9 port 22: Connection refused\r",
      "cannot build on 'ssh-ng://nobody@127.0.0.9': error: cannot open connection to remote store 'ssh-ng://nobody@127.0.0.9': error: unexpected end-of-file",
      ...LIST,
    ]);
    expect(causes(out)).toEqual(["refused", "no-suitable-machine"]);
    expect(out[0]!.builder).toBe("ssh-ng://nobody@127.0.0.9");
    expect(out[0]!.evidence).toContain("ssh: connect to host 127.0.0.9 port 22: Connection refused");
  });

  it("no ssh on the PATH, ssh:// (inline) and ssh-ng (the child's coloured error line first)", () => {
    const legacy = run([
      ...HEAD,
      "cannot build on 'ssh://nobody@127.0.0.9': error: cannot connect to 'nobody@127.0.0.9': error: unable to execute 'ssh': No such file or directory",
      ...LIST,
    ]);
    expect(causes(legacy)).toEqual(["ssh-missing", "no-suitable-machine"]);
    expect(legacy[0]!.builder).toBe("ssh://nobody@127.0.0.9");
    const ng = run([
      ...HEAD,
      "\x1b[31;1merror:\x1b[0m unable to execute '\x1b[35;1mssh\x1b[0m': \x1b[35;1mNo such file or directory\x1b[0m",
      "cannot build on 'ssh-ng://nobody@127.0.0.9': error: cannot open connection to remote store 'ssh-ng://nobody@127.0.0.9': error: unexpected end-of-file",
      ...LIST,
    ]);
    expect(causes(ng)).toEqual(["ssh-missing", "no-suitable-machine"]);
    expect(ng[0]!.builder).toBe("ssh-ng://nobody@127.0.0.9");
  });

  it("a builder without the required feature (2.4–2.11 list format)", () => {
    const out = run([
      "this derivation will be built:",
      "  /nix/store/bgfc48fdwai7g0z6jiyi1hqvh0h2nka5-crossnix-diag-probe.drv",
      "Failed to find a machine for remote build!",
      "derivation: bgfc48fdwai7g0z6jiyi1hqvh0h2nka5-crossnix-diag-probe.drv",
      "required (system, features): (x86_64-linux, kvm)",
      "1 available machines:",
      "(systems, maxjobs, supportedFeatures, mandatoryFeatures)",
      "(x86_64-linux, 1, , )",
      "error: unable to start any build; remote machines may not have all required system features.",
      "       https://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html",
    ]);
    expect(causes(out)).toEqual(["no-suitable-machine"]);
    expect(out[0]).toMatchObject({
      system: "x86_64-linux",
      features: ["kvm"],
      drv: "bgfc48fdwai7g0z6jiyi1hqvh0h2nka5-crossnix-diag-probe.drv",
    });
    expect(out[0]!.summary).toMatch(/do not offer the feature\(s\) kvm/);
  });

  it("-j0 and no builders, with the substituter warnings of an offline machine", () => {
    const out = run([
      "warning: error: unable to download 'https://cache.nixos.org/nix-cache-info': Couldn't resolve host name (6); retrying in 286 ms",
      "warning: unable to download 'https://cache.nixos.org/nix-cache-info': Couldn't resolve host name (6)",
      ...HEAD,
      "error: unable to start any build; either increase '--max-jobs' or enable remote builds.",
      "       https://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html",
    ]);
    expect(causes(out)).toEqual(["local-builds-disabled"]);
    expect(out[0]!.nixVersions).toBe("2.4–2.20");
  });

  it("extra-builders in nix.conf (warned twice, reported once)", () => {
    const out = run([
      "warning: unknown setting 'extra-builders'",
      ...HEAD,
      "warning: unknown setting 'extra-builders'",
      "error: unable to start any build; either increase '--max-jobs' or enable remote builds.",
      "       https://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html",
    ]);
    expect(causes(out)).toEqual(["extra-builders-unknown", "local-builds-disabled"]);
  });

  it("machines rows that do not parse: max-jobs 'eight', a bad base64 host key", () => {
    const jobs = run([
      ...HEAD,
      "error: bad machine specification: failed to convert column #3 in a row: 'ssh://x x86_64-linux - eight' to 'unsigned int'",
      "error: unexpected EOF reading a line",
      "(use '--show-trace' to show detailed location information)",
    ]);
    expect(causes(jobs)).toEqual(["machines-file-invalid"]);
    expect(jobs[0]!.builder).toBe("ssh://x");
    const b64 = run([
      ...HEAD,
      "error: bad machine specification: a column #7 in a row: 'ssh://x x86_64-linux - 1 1 - - not!base64' is not valid base64 string: error: invalid character in Base64 string: ''",
      "error: unexpected EOF reading a line",
      "(use '--show-trace' to show detailed location information)",
    ]);
    expect(causes(b64)).toEqual(["machines-file-invalid"]);
    expect(b64[0]).toMatchObject({ builder: "ssh://x", nixVersions: "2.5–2.24" });
  });

  it("a derivation for a system nobody offers, built locally", () => {
    const d = one(
      [
        "this derivation will be built:",
        "  /nix/store/sk63bii08shgfldaa6l379kzaq837khf-crossnix-diag-probe.drv",
        "error: a 'mips64-linux' with features {} is required to build '/nix/store/sk63bii08shgfldaa6l379kzaq837khf-crossnix-diag-probe.drv', but I am a 'x86_64-linux' with features {benchmark, big-parallel, kvm, nixos-test}",
      ].join("\n"),
    );
    expect(d).toMatchObject({
      cause: "no-suitable-machine",
      system: "mips64-linux",
      drv: "/nix/store/sk63bii08shgfldaa6l379kzaq837khf-crossnix-diag-probe.drv",
    });
  });
});

// Verbatim from testbed/nix-2.8-errors.md (capture-faults.ts: Nix 2.8.0, OpenSSH 9.2, a
// non-root nix-build through the local root nix-daemon, max-jobs = 0, builder alias cx-b2).
// Store hashes are redacted there as "…".
describe("test bed captures (Nix 2.8.0 through the daemon)", () => {
  const HEAD = ["this derivation will be built:", "  /nix/store/…-crossnix-probe-aarch64-linux.drv"];
  const FAILED = [
    "Failed to find a machine for remote build!",
    "derivation: …-crossnix-probe-aarch64-linux.drv",
    "required (system, features): (aarch64-linux, )",
    "1 available machines:",
    "(systems, maxjobs, supportedFeatures, mandatoryFeatures)",
    "(x86_64-linux, aarch64-linux, 2, benchmark, big-parallel, nixos-test, )",
    "error: unable to start any build; remote machines may not have all required system features.",
    "       https://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html",
  ];
  const NG_EOF =
    "cannot build on 'ssh-ng://cx-b2': error: cannot open connection to remote store 'ssh-ng://cx-b2': error: unexpected end-of-file";
  const client = (...lines: string[]) => [...HEAD, ...lines, ...FAILED].join("\n");
  const daemon = (...lines: string[]) => ["accepted connection from pid <n>, user cxclient", ...lines].join("\n");

  describe("ssh:// (ssh's stderr inline)", () => {
    const cases: [string, string[], string][] = [
      [
        "stopped",
        [
          "cannot build on 'ssh://cx-b2': error: cannot connect to 'cx-b2': ssh: connect to host 127.0.0.3 port 2202: Connection refused",
        ],
        "refused",
      ],
      [
        "hung-timeout",
        [
          "cannot build on 'ssh://cx-b2': error: cannot connect to 'cx-b2': Connection timed out during banner exchange",
          "Connection to 127.0.0.3 port 2202 timed out",
        ],
        "timeout",
      ],
      [
        "hostKeyChanged",
        [
          "cannot build on 'ssh://cx-b2': error: cannot connect to 'cx-b2': @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
          "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
          "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
          "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
          "Someone could be eavesdropping on you right now (man-in-the-middle attack)!",
          "It is also possible that a host key has just been changed.",
          "The fingerprint for the ED25519 key sent by the remote host is",
          "SHA256:<fingerprint>.",
          "Please contact your system administrator.",
          "Add correct host key in <run>/sandbox/tmp/nix-<pid>-0/host-key to get rid of this message.",
          "Offending ED25519 key in <run>/sandbox/tmp/nix-<pid>-0/host-key:1",
          "  remove with:",
          '  ssh-keygen -f "<run>/sandbox/tmp/nix-<pid>-0/host-key" -R "cx-b2"',
          "Host key for cx-b2 has changed and you have requested strict checking.",
          "Host key verification failed.",
        ],
        "host-key-changed",
      ],
      [
        "hostKeyUnknown",
        ["cannot build on 'ssh://cx-b2': error: cannot connect to 'cx-b2': Host key verification failed."],
        "host-key-unknown",
      ],
      [
        "keyMissing",
        [
          "cannot build on 'ssh://cx-b2': error: cannot connect to 'cx-b2': cxb2@127.0.0.3: Permission denied (publickey).",
        ],
        "auth",
      ],
      [
        "remoteProgramNotOnPath",
        ["cannot build on 'ssh://cx-b2': error: cannot connect to 'cx-b2': bash: line 1: nix-store: command not found"],
        "remote-program-not-found",
      ],
      [
        "noisyShell",
        [
          "cannot build on 'ssh://cx-b2': error: 'nix-store --serve' protocol mismatch from 'cx-b2', got 'Welcome to crossnix test builder b2 (cxb2)!",
          "       \\uFFFD\\uFFFDRT",
        ],
        "protocol-mismatch-shell-noise",
      ],
      [
        "diskFull",
        [
          "cannot build on 'ssh://cx-b2': error: cannot connect to 'cx-b2': error: executing SQLite statement 'pragma synchronous = normal': disk I/O error (in '/nix/var/nix/db/db.sqlite')",
        ],
        "remote-disk-full",
      ],
      [
        "noSshOnDaemonPath",
        [
          "cannot build on 'ssh://cx-b2': error: cannot connect to 'cx-b2': error: unable to execute 'ssh': No such file or directory",
        ],
        "ssh-missing",
      ],
    ];
    it.each(cases)("%s", (_name, lines, cause) => {
      const out = diagnoseNixOutput(client(...lines));
      expect(causes(out)).toEqual([cause, "no-suitable-machine"]);
      expect(out[0]!.builder).toBe("ssh://cx-b2");
      expect(out[1]).toMatchObject({ system: "aarch64-linux", features: [], nixVersions: "2.4–2.11" });
      expect(out[1]!.summary).toMatch(/disabled for this run after failing to connect/);
    });

    it("noisyShell names the greeting", () => {
      const out = diagnoseNixOutput(
        client(
          "cannot build on 'ssh://cx-b2': error: 'nix-store --serve' protocol mismatch from 'cx-b2', got 'Welcome to crossnix test builder b2 (cxb2)!",
          "       \\uFFFD\\uFFFDRT",
        ),
      );
      expect(out[0]!.summary).toContain("Welcome to crossnix test builder b2 (cxb2)!");
    });

    it("portInUri: the port is taken as part of the host name before 2.31", () => {
      const out = diagnoseNixOutput(
        client(
          "cannot build on 'ssh://cxb2@127.0.0.3:2202': error: cannot connect to 'cxb2@127.0.0.3:2202': ssh: Could not resolve hostname 127.0.0.3:2202: Name or service not known",
        ),
      );
      expect(causes(out)).toEqual(["dns", "no-suitable-machine"]);
      expect(out[0]).toMatchObject({ builder: "ssh://cxb2@127.0.0.3:2202", nixVersions: "<2.31" });
      expect(out[0]!.fix).toMatch(/Port 2202/);
    });

    it("untrusted: the hook's error, an EOF, and the hook's exit reported as a builder failure", () => {
      const out = diagnoseNixOutput(
        [
          "this derivation will be built:",
          "  /nix/store/…-crossnix-probe-x86_64-linux.drv",
          "building '/nix/store/…-crossnix-probe-x86_64-linux.drv' on 'ssh://cx-b2'...",
          "copying 0 paths...",
          "error: you are not privileged to build input-addressed derivations",
          "error: unexpected end-of-file",
          "error: builder for '/nix/store/…-crossnix-probe-x86_64-linux.drv' failed with exit code 1;",
          "       last 1 log lines:",
          "       > error: you are not privileged to build input-addressed derivations",
          "       For full logs, run 'nix log /nix/store/…-crossnix-probe-x86_64-linux.drv'.",
        ].join("\n"),
      );
      expect(causes(out)).toEqual(["remote-untrusted"]);
      expect(out[0]).toMatchObject({ builder: "ssh://cx-b2", drv: "/nix/store/…-crossnix-probe-x86_64-linux.drv" });
    });

    it("untrusted-input: lacks a valid signature, on the builder the path was copied to", () => {
      const out = diagnoseNixOutput(
        [
          "these 2 derivations will be built:",
          "  /nix/store/…-crossnix-dep-x86_64-linux.drv",
          "  /nix/store/…-crossnix-probe-aarch64-linux.drv",
          "building '/nix/store/…-crossnix-dep-x86_64-linux.drv' on 'ssh://cx-b1'...",
          "copying 0 paths...",
          "crossnix-probe built by cxb1 on x86_64",
          "copying 1 paths...",
          "copying path '/nix/store/…-crossnix-dep-x86_64-linux' from 'ssh://cx-b1'...",
          "building '/nix/store/…-crossnix-probe-aarch64-linux.drv' on 'ssh://cx-b2'...",
          "copying 1 paths...",
          "copying path '/nix/store/…-crossnix-dep-x86_64-linux' to 'ssh://cx-b2'...",
          "error: cannot add path '/nix/store/…-crossnix-dep-x86_64-linux' because it lacks a valid signature",
          "error: unexpected end-of-file",
          "error: builder for '/nix/store/…-crossnix-probe-aarch64-linux.drv' failed with exit code 1;",
          "       last 1 log lines:",
          "       > error: cannot add path '/nix/store/…-crossnix-dep-x86_64-linux' because it lacks a valid signature",
          "       For full logs, run 'nix log /nix/store/…-crossnix-probe-aarch64-linux.drv'.",
        ].join("\n"),
      );
      expect(causes(out)).toEqual(["signature-missing"]);
      expect(out[0]).toMatchObject({ builder: "ssh://cx-b2", nixVersions: "≤2.11" });
    });
  });

  describe("ssh-ng:// (the client sees only EOF; ssh's reason is in the daemon's log)", () => {
    it("client output alone: remote-connection-closed for cx-b2, then the misleading list", () => {
      const out = diagnoseNixOutput(client(NG_EOF));
      expect(causes(out)).toEqual(["remote-connection-closed", "no-suitable-machine"]);
      expect(out[0]).toMatchObject({ builder: "ssh-ng://cx-b2" });
      expect(out[0]!.fix).toContain("sudo ssh cx-b2 nix-daemon --version");
    });

    const withLog: [string, string[], string][] = [
      ["stopped", ["ssh: connect to host 127.0.0.3 port 2202: Connection refused"], "refused"],
      [
        "hung-timeout",
        ["Connection timed out during banner exchange", "Connection to 127.0.0.3 port 2202 timed out"],
        "timeout",
      ],
      [
        "hostKeyChanged",
        [
          "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
          "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
          "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
          "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
          "Host key for cx-b2 has changed and you have requested strict checking.",
          "Host key verification failed.",
        ],
        "host-key-changed",
      ],
      ["hostKeyUnknown", ["Host key verification failed."], "host-key-unknown"],
      ["keyMissing", ["cxb2@127.0.0.3: Permission denied (publickey)."], "auth"],
      ["remoteProgramNotOnPath", ["bash: line 1: nix-daemon: command not found"], "remote-program-not-found"],
      [
        "diskFull",
        [
          "error: executing SQLite statement 'pragma synchronous = normal': disk I/O error (in '/nix/var/nix/db/db.sqlite')",
        ],
        "remote-disk-full",
      ],
      ["noSshOnDaemonPath", ["error: unable to execute 'ssh': No such file or directory"], "ssh-missing"],
    ];
    it.each(withLog)("%s: client output + the daemon's log", (_name, log, cause) => {
      const out = diagnoseNixOutput(`${client(NG_EOF)}\n${daemon(...log)}`);
      expect(causes(out)).toEqual([cause, "no-suitable-machine"]);
      expect(out[0]!.builder).toBe("ssh-ng://cx-b2");
      expect(out[0]!.evidence).toContain(NG_EOF);
    });

    it("portInUri with the daemon's log", () => {
      const out = diagnoseNixOutput(
        [
          ...HEAD,
          "cannot build on 'ssh-ng://cxb2@127.0.0.3:2202': error: cannot open connection to remote store 'ssh-ng://cxb2@127.0.0.3:2202': error: unexpected end-of-file",
          ...FAILED,
          "accepted connection from pid <n>, user cxclient",
          "ssh: Could not resolve hostname 127.0.0.3:2202: Name or service not known",
        ].join("\n"),
      );
      expect(causes(out)).toEqual(["dns", "no-suitable-machine"]);
      expect(out[0]).toMatchObject({ builder: "ssh-ng://cxb2@127.0.0.3:2202", nixVersions: "<2.31" });
    });

    it("noisyShell: protocol mismatch, got '<greeting>' and the daemon magic on the next line", () => {
      const out = diagnoseNixOutput(
        client(
          "cannot build on 'ssh-ng://cx-b2': error: cannot open connection to remote store 'ssh-ng://cx-b2': error: protocol mismatch, got 'Welcome to crossnix test builder b2 (cxb2)!",
          "              oixd",
        ),
      );
      expect(causes(out)).toEqual(["protocol-mismatch-shell-noise", "no-suitable-machine"]);
      expect(out[0]!.builder).toBe("ssh-ng://cx-b2");
    });

    it("untrusted: no EOF line, no log tail", () => {
      const out = diagnoseNixOutput(
        [
          "this derivation will be built:",
          "  /nix/store/…-crossnix-probe-x86_64-linux.drv",
          "building '/nix/store/…-crossnix-probe-x86_64-linux.drv' on 'ssh-ng://cx-b2'...",
          "copying 0 paths...",
          "error: you are not privileged to build input-addressed derivations",
          "error: builder for '/nix/store/…-crossnix-probe-x86_64-linux.drv' failed with exit code 1",
        ].join("\n"),
      );
      expect(causes(out)).toEqual(["remote-untrusted"]);
      expect(out[0]!.builder).toBe("ssh-ng://cx-b2");
    });

    it("a successful build (baseline), with the builder's output printed raw by nix-build", () => {
      const out = diagnoseNixOutput(
        [
          ...HEAD,
          "building '/nix/store/…-crossnix-probe-aarch64-linux.drv' on 'ssh-ng://cx-b2'...",
          "copying 1 paths...",
          "copying path '/nix/store/…-busybox-arm64' to 'ssh-ng://cx-b2'...",
          "building '/nix/store/…-crossnix-probe-aarch64-linux.drv'...",
          "crossnix-probe built by cxb2 on aarch64",
          "copying 1 paths...",
          "copying path '/nix/store/…-crossnix-probe-aarch64-linux' from 'ssh-ng://cx-b2'...",
        ].join("\n"),
      );
      expect(out).toEqual([]);
    });
  });

  it("noMachines: an empty machines file with max-jobs = 0", () => {
    const out = diagnoseNixOutput(
      [
        ...HEAD,
        "error: unable to start any build; either increase '--max-jobs' or enable remote builds.",
        "       https://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html",
      ].join("\n"),
    );
    expect(causes(out)).toEqual(["local-builds-disabled"]);
  });

  it("systemMissing / featureMissing: only the list (no 'cannot build on' line)", () => {
    const system = diagnoseNixOutput(
      [
        ...HEAD,
        "Failed to find a machine for remote build!",
        "derivation: …-crossnix-probe-aarch64-linux.drv",
        "required (system, features): (aarch64-linux, )",
        "1 available machines:",
        "(systems, maxjobs, supportedFeatures, mandatoryFeatures)",
        "(x86_64-linux, 2, benchmark, big-parallel, nixos-test, )",
        "error: unable to start any build; remote machines may not have all required system features.",
        "       https://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html",
      ].join("\n"),
    );
    expect(causes(system)).toEqual(["no-suitable-machine"]);
    expect(system[0]!.summary).toMatch(/no builder lists the system aarch64-linux/);
    const feature = diagnoseNixOutput(
      [
        ...HEAD,
        "Failed to find a machine for remote build!",
        "derivation: …-crossnix-probe-aarch64-linux.drv",
        "required (system, features): (aarch64-linux, kvm)",
        "1 available machines:",
        "(systems, maxjobs, supportedFeatures, mandatoryFeatures)",
        "(x86_64-linux, aarch64-linux, 2, benchmark, big-parallel, nixos-test, )",
        "error: unable to start any build; remote machines may not have all required system features.",
        "       https://nixos.org/manual/nix/stable/advanced-topics/distributed-builds.html",
      ].join("\n"),
    );
    expect(causes(feature)).toEqual(["no-suitable-machine"]);
    expect(feature[0]).toMatchObject({ features: ["kvm"] });
    expect(feature[0]!.summary).toMatch(/kvm/);
  });
});
