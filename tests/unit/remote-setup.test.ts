// `builder setup-remote`: the facts script, trusted-users values and the trust decision.
import fc from "fast-check";
import { trustsUser } from "../../src/core/nix/trust.js";
import { describe, expect, it } from "vitest";
import { PROBE_BEGIN, PROBE_END } from "../../src/core/builders/probe.js";
import {
  backupPath,
  backupStamp,
  decideTrust,
  detectRemoteLayout,
  MAX_REMOTE_FILE,
  managedOption,
  parseApplyOutput,
  parseRemoteFacts,
  REMOTE_FACTS_SCRIPT,
  type RemoteFacts,
  remotePlan,
  restartMethod,
  ROOT_MARK,
  ROOT_SCRIPT,
  sudoArgs,
  type TrustDecision,
  withUser,
} from "../../src/core/builders/remote-trust.js";
import { describePlan } from "../../src/core/plan/plan.js";
import { CrossnixError } from "../../src/errors.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");

/** What REMOTE_FACTS_SCRIPT prints on a Linux builder, with overrides. */
function output(o: {
  probe?: string[];
  nixConf?: string | null;
  nixConfLink?: string;
  customConf?: string | null;
  customLink?: string;
  extra?: string[];
}): string {
  const probe = o.probe ?? [
    "user=alice",
    "groups=alice wheel",
    "nix-version=nix (Nix) 2.8.0",
    "daemon-socket=yes",
    "conf-trusted-users = root",
  ];
  const file = (path: string, text: string | null | undefined, link?: string) => [
    ...(link ? [`link ${path}=${link}`] : []),
    ...(text === null || text === undefined
      ? []
      : [`exists ${path}=yes`, `cksum ${path}=${text.length} 42`, `base64 ${path}=${b64(text)}`]),
  ];
  return [
    PROBE_BEGIN,
    ...probe,
    PROBE_END,
    "@@crossnix-setup-begin@@",
    "os=Linux",
    ...file("/etc/nix/nix.conf", o.nixConf === undefined ? "trusted-users = root\n" : o.nixConf, o.nixConfLink),
    ...file("/etc/nix/nix.custom.conf", o.customConf, o.customLink),
    "systemd-service=active",
    "systemd-socket=active",
    "sudo=/usr/bin/sudo",
    ...(o.extra ?? []),
    "@@crossnix-setup-end@@",
    "",
  ].join("\n");
}

function facts(o: Parameters<typeof output>[0] = {}): RemoteFacts {
  const f = parseRemoteFacts(output(o));
  if (!f) throw new Error("unparsed");
  return f;
}

function change(d: TrustDecision): Extract<TrustDecision, { kind: "change" }> {
  if (d.kind !== "change") throw new Error(`expected a change, got ${d.kind}`);
  return d;
}

describe("the facts script and its output", () => {
  it("is one script that runs the probe first, and reads files base64-encoded", () => {
    expect(REMOTE_FACTS_SCRIPT.indexOf(PROBE_BEGIN)).toBeLessThan(
      REMOTE_FACTS_SCRIPT.indexOf("@@crossnix-setup-begin@@"),
    );
    expect(REMOTE_FACTS_SCRIPT).toContain('base64 < "$f"');
    expect(REMOTE_FACTS_SCRIPT).not.toContain("sudo -");
  });

  it("parses files byte for byte (CRLF, no final newline, '=' in values), links, systemd and launchd", () => {
    const text = "# mine\r\ntrusted-users = root\r\nkey = a=b";
    const f = facts({
      nixConf: text,
      customLink: "/etc/static/nix/nix.custom.conf",
      extra: ["launchd=org.nixos.nix-daemon", "nixos=yes"],
    });
    expect(f.nixConf).toEqual({
      path: "/etc/nix/nix.conf",
      exists: true,
      link: null,
      text,
      cksum: `${text.length} 42`,
    });
    expect(f.customConf).toEqual({
      path: "/etc/nix/nix.custom.conf",
      exists: false,
      link: "/etc/static/nix/nix.custom.conf",
      text: null,
      cksum: null,
    });
    expect(f.systemd).toEqual({ service: "active", socket: "active" });
    expect(f.launchd).toEqual(["org.nixos.nix-daemon"]);
    expect([f.nixos, f.determinateNixd, f.sudo, f.os]).toEqual([true, false, "/usr/bin/sudo", "Linux"]);
    expect(f.probe.user).toBe("alice");
  });

  it("is null when the script did not finish", () => {
    expect(parseRemoteFacts(output({}).replace("@@crossnix-setup-end@@", ""))).toBeNull();
    expect(parseRemoteFacts("")).toBeNull();
  });

  it("refuses a file that is not UTF-8 (it could not be written back byte for byte)", () => {
    const bad = output({}).replace(
      `base64 /etc/nix/nix.conf=${b64("trusted-users = root\n")}`,
      `base64 /etc/nix/nix.conf=${Buffer.from([0x61, 0xff, 0x0a]).toString("base64")}`,
    );
    expect(() => parseRemoteFacts(bad)).toThrow(/not valid UTF-8/);
  });
});

describe("trusted-users values", () => {
  it("admits by name, by @group and by *", () => {
    expect(trustsUser(["root"], "alice", ["alice"])).toBe(false);
    expect(trustsUser(["root", "alice"], "alice", [])).toBe(true);
    expect(trustsUser(["@wheel"], "alice", ["alice", "wheel"])).toBe(true);
    expect(trustsUser(["@wheel"], "alice", ["alice"])).toBe(false);
    expect(trustsUser(["*"], "alice", [])).toBe(true);
  });

  it("appends the user, keeps everything else (root included), and starts from Nix's default", () => {
    expect(withUser(["root"], "alice")).toEqual(["root", "alice"]);
    expect(withUser(["root", "@wheel"], "alice")).toEqual(["root", "@wheel", "alice"]);
    expect(withUser([], "alice")).toEqual(["root", "alice"]);
    expect(withUser(["alice", "root"], "alice")).toEqual(["alice", "root"]);
  });
});

describe("decideTrust", () => {
  it("does nothing when the daemon already trusts the user, whatever the files say", () => {
    const viaGroup = facts({
      probe: ["user=alice", "groups=alice wheel", "daemon-socket=yes", "conf-trusted-users = root @wheel"],
    });
    expect(decideTrust(viaGroup, "b")).toEqual({ kind: "trusted", source: "trusted-users = root @wheel" });
    const star = facts({ probe: ["user=alice", "groups=alice", "daemon-socket=yes", "conf-trusted-users = *"] });
    expect(decideTrust(star, "b").kind).toBe("trusted");
    const daemon = facts({
      probe: ["user=alice", "daemon-socket=yes", 'store-info={"trusted":true}'],
      nixConfLink: "/etc/static/nix/nix.conf",
    });
    expect(decideTrust(daemon, "b")).toEqual({ kind: "trusted", source: "the daemon reports it" });
  });

  it("appends the user to the file's trusted-users line, keeping every other byte", () => {
    const before =
      "# top\r\nmax-jobs = 4\n  trusted-users   =  root   # who may\nsubstituters =\nno-final-newline = yes";
    const d = change(decideTrust(facts({ nixConf: before }), "box"));
    expect(d.file).toBe("/etc/nix/nix.conf");
    expect(d.before).toBe(before);
    expect(d.after).toBe(
      before.replace("  trusted-users   =  root   # who may", "  trusted-users   =  root alice   # who may"),
    );
    expect(d.expected).toBe(`${before.length} 42`);
    expect(d.trustedUsers).toEqual(["root", "alice"]);
    expect(d.restart).toEqual({ kind: "systemd", argv: ["systemctl", "restart", "nix-daemon.service"] });
  });

  it("without a trusted-users line, appends one built from the effective value, after a comment", () => {
    const f = facts({
      probe: ["user=alice", "groups=alice", "daemon-socket=yes", "conf-trusted-users = root @wheel"],
      nixConf: "max-jobs = 4",
    });
    const d = change(decideTrust(f, "box"));
    expect(d.after).toBe(
      "max-jobs = 4\n# added by crossnix builder setup-remote: alice may build for remote clients\ntrusted-users = root @wheel alice\n",
    );
  });

  it("a file that already lists the user but a daemon that says no: only a restart", () => {
    const f = facts({
      probe: [
        "user=alice",
        "groups=alice",
        "daemon-socket=yes",
        "conf-trusted-users = root alice",
        'store-info={"trusted":false}',
      ],
      nixConf: "trusted-users = root alice\n",
    });
    const d = change(decideTrust(f, "box"));
    expect(d.after).toBe(d.before);
    const plan = remotePlan(d, "box", "alice", "20250101T000000Z");
    expect(plan.files).toEqual([]);
    expect(plan.commands.map((c) => c.argv.join(" "))).toEqual(["systemctl restart nix-daemon.service"]);
  });

  it("refuses when the file lists the user but a later assignment overrides it", () => {
    const f = facts({
      probe: ["user=alice", "groups=alice", "daemon-socket=yes", "conf-trusted-users = root"],
      nixConf: "trusted-users = root alice\n",
    });
    expect(() => decideTrust(f, "box")).toThrow(
      /box:\/etc\/nix\/nix.conf:1 already trusts 'alice', but Nix's effective trusted-users is 'root'/,
    );
  });

  it("Determinate Nix (nix.conf includes nix.custom.conf): creates nix.custom.conf, nix.conf untouched", () => {
    const d = change(decideTrust(facts({ nixConf: "trusted-users = root\n!include nix.custom.conf\n" }), "box"));
    expect(d).toMatchObject({ file: "/etc/nix/nix.custom.conf", before: null, expected: "absent", determinate: true });
    expect(d.after).toBe(
      "# added by crossnix builder setup-remote: alice may build for remote clients\ntrusted-users = root alice\n",
    );
  });

  it("Determinate Nix (determinate-nixd present): edits the existing nix.custom.conf", () => {
    const d = change(
      decideTrust(
        facts({ customConf: "lazy-trees = true\ntrusted-users = root\n", extra: ["determinate-nixd=yes"] }),
        "box",
      ),
    );
    expect(d).toMatchObject({ file: "/etc/nix/nix.custom.conf", determinate: true });
    expect(d.after).toBe("lazy-trees = true\ntrusted-users = root alice\n");
  });

  it("refuses a malformed file at file:line:column, and a symlink that is not generated", () => {
    const bad = facts({ nixConf: "trusted-users=root\n" });
    expect(() => decideTrust(bad, "box")).toThrow(/box:\/etc\/nix\/nix.conf:1:1: syntax error/);
    const linked = facts({ nixConfLink: "/srv/conf/nix.conf" });
    expect(() => decideTrust(linked, "box")).toThrow(
      /box:\/etc\/nix\/nix.conf is a symbolic link to \/srv\/conf\/nix.conf/,
    );
  });

  it("refuses when Nix is not there at all", () => {
    const none = facts({ probe: ["user=alice", "groups=alice"], nixConf: null });
    expect(() => decideTrust(none, "box")).toThrow(CrossnixError);
  });
});

describe("managed configurations", () => {
  it("NixOS: /etc/NIXOS, or nix.conf linked through /etc/static or into the store", () => {
    for (const o of [
      { extra: ["nixos=yes"] },
      { nixConfLink: "/etc/static/nix/nix.conf" },
      { nixConfLink: "/nix/store/abc-nix.conf" },
    ]) {
      const d = decideTrust(facts(o), "box");
      expect(d).toMatchObject({
        kind: "managed",
        by: "NixOS",
        option: 'nix.settings.trusted-users = [ "root" "alice" ];',
      });
    }
  });

  it("nix-darwin on macOS, and the Determinate nix-darwin module (nix.custom.conf generated)", () => {
    const darwin = parseRemoteFacts(
      output({ nixConfLink: "/etc/static/nix/nix.conf" }).replace("os=Linux", "os=Darwin"),
    )!;
    expect(detectRemoteLayout(darwin)).toMatchObject({ kind: "managed", by: "nix-darwin" });
    const det = facts({ nixConf: "!include nix.custom.conf\n", customLink: "/etc/static/nix/nix.custom.conf" });
    expect(decideTrust(det, "box")).toMatchObject({
      kind: "managed",
      by: "the Determinate nix-darwin module",
      option: 'determinateNix.customSettings.trusted-users = [ "root" "alice" ];',
    });
  });

  it("keeps the existing list in the option and quotes it as Nix strings", () => {
    expect(managedOption("NixOS", ["root", "@wheel"], 'al"i$ce')).toBe(
      'nix.settings.trusted-users = [ "root" "@wheel" "al\\"i$ce" ];',
    );
  });
});

describe("restarting the remote daemon", () => {
  const with_ = (o: Partial<RemoteFacts>) => ({ ...facts(), ...o });
  it("systemd when nix-daemon.service or its socket is known", () => {
    expect(restartMethod(with_({ systemd: { service: "inactive", socket: "active" } }))?.kind).toBe("systemd");
    expect(restartMethod(with_({ systemd: { service: "failed", socket: "inactive" } }))?.kind).toBe("systemd");
    expect(restartMethod(with_({ systemd: { service: "inactive", socket: "inactive" } }))).toBeNull();
    expect(restartMethod(with_({ systemd: { service: "", socket: "" } }))).toBeNull();
    expect(restartMethod(with_({ systemd: null }))).toBeNull();
  });

  it("launchd on macOS: the Determinate label when its plist exists, else the upstream one", () => {
    expect(
      restartMethod(with_({ os: "Darwin", launchd: ["systems.determinate.nix-daemon", "org.nixos.nix-daemon"] })),
    ).toEqual({
      kind: "launchd",
      label: "systems.determinate.nix-daemon",
      argv: ["launchctl", "kickstart", "-k", "system/systems.determinate.nix-daemon"],
    });
    expect(restartMethod(with_({ os: "Darwin", launchd: ["org.nixos.nix-daemon"] }))?.argv.at(-1)).toBe(
      "system/org.nixos.nix-daemon",
    );
    expect(restartMethod(with_({ os: "Darwin", launchd: [] }))).toBeNull();
  });

  it("without a way to restart, the plan says so", () => {
    const d = change(decideTrust(with_({ systemd: null }), "box"));
    expect(d.restart).toBeNull();
    expect(remotePlan(d, "box", "alice", "S").notes.join("\n")).toContain(
      "crossnix cannot restart the Nix daemon on box",
    );
  });
});

describe("the remote plan", () => {
  it("labels the diff <host>:<path> and names the backup", () => {
    const d = change(decideTrust(facts(), "box"));
    const plan = remotePlan(d, "box", "alice", "20250102T030405Z");
    const rendered = describePlan(plan);
    expect(rendered.files[0]!.path).toBe("box:/etc/nix/nix.conf");
    expect(rendered.files[0]!.diff).toContain("--- box:/etc/nix/nix.conf\n+++ box:/etc/nix/nix.conf\n");
    expect(rendered.files[0]!.diff).toContain("-trusted-users = root\n+trusted-users = root alice");
    expect(rendered.notes.join("\n")).toContain("/etc/nix/nix.conf.crossnix-backup-20250102T030405Z");
    expect(rendered.commands[0]!.command).toBe("systemctl restart nix-daemon.service");
  });

  it("a new file is diffed against /dev/null", () => {
    const d = change(decideTrust(facts({ nixConf: "!include nix.custom.conf\n" }), "box"));
    expect(describePlan(remotePlan(d, "box", "alice", "S")).files[0]!.diff).toContain(
      "--- /dev/null\n+++ box:/etc/nix/nix.custom.conf\n",
    );
  });

  it("timestamps and backup paths", () => {
    expect(backupStamp(new Date("2025-01-02T03:04:05.678Z"))).toBe("20250102T030405Z");
    expect(backupPath("/etc/nix/nix.conf", "20250102T030405Z")).toBe(
      "/etc/nix/nix.conf.crossnix-backup-20250102T030405Z",
    );
  });
});

describe("sudo arguments and the apply report", () => {
  it("passes every value as its own positional parameter", () => {
    const d = change(decideTrust(facts(), "box"));
    const args = sudoArgs("batch", d, "S");
    expect(args).toEqual([
      "batch",
      ROOT_SCRIPT,
      "/etc/nix/nix.conf",
      d.expected,
      d.after,
      "/etc/nix/nix.conf.crossnix-backup-S",
      "systemd",
    ]);
    const restartOnly = { ...d, after: d.before! };
    expect(sudoArgs("password", restartOnly, "S").slice(2, 5)).toEqual(["/etc/nix/nix.conf", "-", ""]);
    expect(() => sudoArgs("batch", { ...d, after: "x".repeat(MAX_REMOTE_FILE + 1) }, "S")).toThrow(
      /larger than 64 KiB/,
    );
  });

  it("tells sudo failures from script failures and success", () => {
    expect(parseApplyOutput("", "sudo: a password is required\n", 1)).toEqual({
      kind: "no-sudo",
      missing: false,
      message: "sudo: a password is required",
    });
    expect(parseApplyOutput("@@crossnix-no-sudo@@\n", "", 97)).toMatchObject({ kind: "no-sudo", missing: true });
    expect(parseApplyOutput("", "Sorry, try again.\nsudo: 1 incorrect password attempt\n", 1)).toMatchObject({
      message: "sudo: 1 incorrect password attempt",
    });
    expect(
      parseApplyOutput(`${ROOT_MARK}\n@@crossnix-fail@@ /etc/nix/nix.conf changed since it was read\n`, "", 3),
    ).toEqual({
      kind: "failed",
      written: false,
      conflict: true,
      message: "/etc/nix/nix.conf changed since it was read",
    });
    expect(
      parseApplyOutput(
        `${ROOT_MARK}\n@@crossnix-written@@\n@@crossnix-fail@@ systemctl restart nix-daemon.service: boom\n`,
        "",
        4,
      ),
    ).toMatchObject({ kind: "failed", written: true });
    expect(parseApplyOutput(`${ROOT_MARK}\n@@crossnix-written@@\n@@crossnix-restarted@@\n`, "", 0)).toEqual({
      kind: "done",
      written: true,
      restarted: true,
    });
  });
});

describe("property: only the trusted-users line changes", () => {
  const line = fc.oneof(
    fc.constantFrom(
      "",
      "# comment",
      "max-jobs = 4",
      "  substituters = https://a https://b  # x",
      "extra-trusted-users = bob",
      "\r",
    ),
    fc.stringMatching(/^[a-z-]{1,12} = [a-z0-9 ]{0,12}$/).filter((l) => !/^(trusted-users|include) /.test(l)),
  );
  it("holds for arbitrary surrounding lines", () => {
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 8 }),
        fc.array(line, { maxLength: 8 }),
        fc.boolean(),
        (pre, post, finalNewline) => {
          const before = [...pre, "trusted-users = root", ...post].join("\n") + (finalNewline ? "\n" : "");
          const d = change(decideTrust(facts({ nixConf: before }), "h"));
          const a = d.after.split("\n");
          const b = before.split("\n");
          expect(a.length).toBe(b.length);
          expect(a.filter((l, i) => l !== b[i])).toEqual(["trusted-users = root alice"]);
        },
      ),
    );
  });
});
