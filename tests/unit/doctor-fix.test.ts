// doctor --fix plans, end-to-end build checks, the tolerant machines parser, `ssh -G` and the
// human report: pure functions on fixtures.
import { describe, expect, it } from "vitest";
import { type E2eResult, e2eBuildersValue, e2eCheck, e2eExpression } from "../../src/core/doctor/e2e.js";
import { autoFixes, type FixInputs, planDoctorFixes, withRemoteProgram } from "../../src/core/doctor/fixes.js";
import { parseMachinesTolerant } from "../../src/core/doctor/machines.js";
import { type Check, check, checkJson } from "../../src/core/doctor/types.js";
import { fleetFromMachines } from "../../src/core/builders/fleet.js";
import { parseNixConf } from "../../src/core/formats/nix-conf.js";
import { parseSshG } from "../../src/host/doctor/builder.js";
import { renderDoctorReport } from "../../src/ui/doctor-report.js";
import { makeStyle } from "../../src/ui/style.js";
import { ed25519Key } from "../helpers/keys.js";

const KEY_A = ed25519Key(1);
const KEY_B = ed25519Key(2);
const PIN_A = Buffer.from(`ssh-ed25519 ${KEY_A}`).toString("base64");
const PIN_B = Buffer.from(`ssh-ed25519 ${KEY_B}`).toString("base64");
const ONE = `ssh-ng://one x86_64-linux /etc/nix/crossnix/one_ed25519 2 - benchmark,big-parallel,nixos-test - ${PIN_A} # crossnix:one`;
const MACHINES = `# my builders\n${ONE}\nssh://nix@other x86_64-linux\n`;
const RELOAD = {
  argv: ["launchctl", "kickstart", "-k", "system/systems.determinate.nix-daemon"],
  description: "restart the Nix daemon",
};

function inputs(over: Partial<FixInputs> = {}): FixInputs {
  const parsed = parseMachinesTolerant(MACHINES, "/etc/nix/machines");
  const settings = "# Written by crossnix\nbuilders = @/etc/nix/machines\n";
  return {
    settings: {
      path: "/etc/nix/nix.custom.conf",
      text: settings,
      model: parseNixConf(settings, "/etc/nix/nix.custom.conf"),
    },
    machines: { path: "/etc/nix/machines", text: MACHINES, parsed },
    systemBuilders: "@/etc/nix/machines",
    readOnlyReason: null,
    flavor: "determinate",
    daemonReload: RELOAD,
    fleet: fleetFromMachines([{ path: "/etc/nix/machines", model: parsed.model }]),
    ...over,
  };
}

const useSubstitutes = {
  kind: "set-setting" as const,
  name: "builders-use-substitutes",
  value: "true",
  comment: "crossnix: builders fetch inputs from their own caches",
};

describe("doctor --fix plans", () => {
  it("builders-use-substitutes goes to the settings file, then the daemon is restarted", () => {
    const { plan, notDone } = planDoctorFixes([useSubstitutes], inputs());
    expect(notDone).toEqual([]);
    expect(plan.files).toHaveLength(1);
    expect(plan.files[0]).toMatchObject({ path: "/etc/nix/nix.custom.conf" });
    expect(plan.files[0]!.after).toBe(
      "# Written by crossnix\nbuilders = @/etc/nix/machines\n# crossnix: builders fetch inputs from their own caches\nbuilders-use-substitutes = true\n",
    );
    expect(plan.commands).toEqual([RELOAD]);
  });

  it("the comment is not repeated when it is already there", () => {
    const text = "# crossnix: builders fetch inputs from their own caches\n";
    const { plan } = planDoctorFixes(
      [useSubstitutes],
      inputs({ settings: { path: "/etc/nix/nix.conf", text, model: parseNixConf(text, "/etc/nix/nix.conf") } }),
    );
    expect(plan.files[0]!.after).toBe(`${text}builders-use-substitutes = true\n`);
  });

  it("builders is rewritten whole to include the machines file (it is not appendable)", () => {
    const { plan } = planDoctorFixes(
      [{ kind: "builders-include" }],
      inputs({ systemBuilders: "ssh://x x86_64-linux" }),
    );
    expect(plan.files[0]!.after).toContain("builders = ssh://x x86_64-linux ;@/etc/nix/machines\n");
    const fresh = planDoctorFixes(
      [{ kind: "builders-include" }],
      inputs({
        systemBuilders: null,
        settings: { path: "/etc/nix/nix.custom.conf", text: null, model: parseNixConf("", "/etc/nix/nix.custom.conf") },
      }),
    );
    expect(fresh.plan.files[0]).toMatchObject({ before: null });
    expect(fresh.plan.files[0]!.after).toContain("builders = @/etc/nix/machines\n");
  });

  it("remote-program rewrites only crossnix's line, keeps every other byte, needs no restart", () => {
    const program = "/nix/var/nix/profiles/default/bin/nix-daemon";
    const { plan } = planDoctorFixes([{ kind: "remote-program", builder: "one", program }], inputs());
    expect(plan.files).toHaveLength(1);
    expect(plan.files[0]!.after).toBe(
      `# my builders\nssh-ng://one?remote-program=${program} x86_64-linux /etc/nix/crossnix/one_ed25519 2 - benchmark,big-parallel,nixos-test - ${PIN_A} # crossnix:one\nssh://nix@other x86_64-linux\n`,
    );
    expect(plan.commands).toEqual([]);
  });

  it("a confirmed pin replaces column 8; an entry crossnix does not manage is left alone", () => {
    const { plan, notDone } = planDoctorFixes(
      [
        { kind: "pin-host-key", builder: "one", pinned: `ssh-ed25519 ${KEY_A}`, served: `ssh-ed25519 ${KEY_B}` },
        { kind: "pin-host-key", builder: "other", pinned: null, served: `ssh-ed25519 ${KEY_B}` },
      ],
      inputs(),
    );
    expect(plan.files[0]!.after).toContain(` ${PIN_B} # crossnix:one\n`);
    expect(notDone).toEqual([
      "host key of 'other': 'other' is not an entry crossnix manages in /etc/nix/machines; edit it yourself",
    ]);
  });

  it("a machines file with invalid lines is not rewritten (that would drop them)", () => {
    const text = `${ONE}\nssh://bad - - eight\n`;
    const parsed = parseMachinesTolerant(text, "/etc/nix/machines");
    const { plan, notDone } = planDoctorFixes(
      [{ kind: "remote-program", builder: "one", program: "/nix/bin/nix-daemon" }],
      inputs({ machines: { path: "/etc/nix/machines", text, parsed } }),
    );
    expect(plan.files).toEqual([]);
    expect(notDone[0]).toContain("has invalid lines");
  });

  it("a read-only (nix-darwin) setup gets the Nix snippet instead of a file change", () => {
    const reason = "/etc/nix/nix.conf is generated by nix-darwin";
    const { plan } = planDoctorFixes([useSubstitutes], inputs({ readOnlyReason: reason, flavor: "nix-darwin" }));
    expect(plan.files).toEqual([]);
    expect(plan.commands).toEqual([]);
    expect(plan.notes[0]).toContain("nix.settings.builders-use-substitutes = true;");
  });

  it("restart-daemon alone is one command", () => {
    expect(planDoctorFixes([{ kind: "restart-daemon" }], inputs()).plan.commands).toEqual([RELOAD]);
  });

  it("autoFixes takes failed and warned checks' fixes once each", () => {
    const fix = { description: "x", auto: { kind: "restart-daemon" as const } };
    const checks: Check[] = [
      check("nix.daemon", "local", "fail", "t", "o", fix),
      check("config.daemon-stale", "configuration", "fail", "t", "o", fix),
      check("config.builders-use-substitutes", "configuration", "ok", "t", "o", {
        description: "y",
        auto: useSubstitutes,
      }),
    ];
    expect(autoFixes(checks)).toEqual([{ kind: "restart-daemon" }]);
  });

  it("withRemoteProgram replaces an earlier remote-program and keeps other parameters", () => {
    expect(withRemoteProgram("ssh-ng://one", "/a/nix-daemon")).toBe("ssh-ng://one?remote-program=/a/nix-daemon");
    expect(withRemoteProgram("ssh-ng://one?remote-program=/old&compress=true", "/a/nix-daemon")).toBe(
      "ssh-ng://one?compress=true&remote-program=/a/nix-daemon",
    );
    expect(() => withRemoteProgram("ssh-ng://one", "nix-daemon; rm -rf /")).toThrow();
  });
});

describe("end-to-end build", () => {
  const one = fleetFromMachines([
    { path: "/etc/nix/machines", model: parseMachinesTolerant(`${ONE}\n`, "/etc/nix/machines").model },
  ])[0]!;
  const result = (over: Partial<E2eResult>): E2eResult => ({
    exitCode: 0,
    timedOut: false,
    seconds: 0.42,
    stdout: "/nix/store/abc-crossnix-doctor\n",
    stderr: "",
    output: "crossnix-ok",
    timeoutSeconds: 60,
    ...over,
  });

  it("the derivation: /bin/sh, a nonce in the name, no substitutes, the entry's mandatory features required", () => {
    expect(e2eExpression("aarch64-linux", "n1")).toBe(
      'derivation { name = "crossnix-doctor-n1"; system = "aarch64-linux"; builder = "/bin/sh"; args = [ "-c" "echo crossnix-ok > $out" ]; allowSubstitutes = false; preferLocalBuild = false; }',
    );
    expect(e2eExpression("x86_64-linux", "n2", ["kvm"])).toContain('requiredSystemFeatures = [ "kvm" ];');
    expect(() => e2eExpression('x"; builtins.abort "', "n")).toThrow();
  });

  it("--builders is the entry alone, with at least one job slot", () => {
    const zero = fleetFromMachines([
      { path: "/m", model: parseMachinesTolerant("ssh://box x86_64-linux - 0\n", "/m").model },
    ])[0]!;
    expect(e2eBuildersValue(zero)).toBe("ssh://box x86_64-linux - 1");
    expect(e2eBuildersValue(one)).toBe(ONE.replace(" # crossnix:one", ""));
  });

  it("ok when built on that builder with the right output", () => {
    const ok = e2eCheck(one, "x86_64-linux", result({ stderr: "building '/nix/store/x.drv' on 'ssh-ng://one'...\n" }));
    expect(ok).toMatchObject({
      id: "e2e.build",
      group: "end-to-end",
      builder: "one",
      system: "x86_64-linux",
      status: "ok",
      observed: "built on ssh-ng://one in 0.4 s; output confirmed",
    });
    expect(
      e2eCheck(one, "x86_64-linux", result({ stderr: "building '/nix/store/x.drv' on 'ssh-ng://two'...\n" })).status,
    ).toBe("fail");
    expect(e2eCheck(one, "x86_64-linux", result({ output: "nope" })).status).toBe("fail");
  });

  it("a failure is decoded (Nix 2.8, untrusted builder) and a timeout says Nix has none of its own", () => {
    const stderr = [
      "this derivation will be built:",
      "  /nix/store/…-crossnix-doctor-x86_64-linux.drv",
      "building '/nix/store/…-crossnix-doctor-x86_64-linux.drv' on 'ssh-ng://one'...",
      "copying 0 paths...",
      "error: you are not privileged to build input-addressed derivations",
      "error: builder for '/nix/store/…-crossnix-doctor-x86_64-linux.drv' failed with exit code 1",
    ].join("\n");
    const failed = e2eCheck(one, "x86_64-linux", result({ exitCode: 1, output: null, stderr }));
    expect(failed.status).toBe("fail");
    expect(failed.observed).toContain("you are not privileged to build input-addressed derivations");
    expect(failed.fix?.description).toMatch(/trusted-users/);
    const hung = e2eCheck(
      one,
      "x86_64-linux",
      result({ exitCode: null, timedOut: true, output: null, timeoutSeconds: 60 }),
    );
    expect(hung.observed).toContain("no result after 60 s");
  });
});

describe("parseMachinesTolerant", () => {
  it("reports every invalid line and keeps the rest at their line numbers", () => {
    const t = parseMachinesTolerant(
      "ssh://a x86_64-linux\nssh://b - - x\nssh://c - - - -1\nssh://d aarch64-linux\n",
      "/etc/nix/machines",
    );
    expect(t.errors.map((e) => e.message.split(": ")[0])).toEqual(["/etc/nix/machines:2:13", "/etc/nix/machines:3:15"]);
    expect(t.lossless).toBe(false);
    expect(t.model.lines.map((l) => l.items.length)).toEqual([1, 0, 0, 1]);
    expect(parseMachinesTolerant("ssh://a\n", "/m").lossless).toBe(true);
  });
});

describe("parseSshG", () => {
  it("reads HostName, Port, User, identities (with ~ expanded), HostKeyAlias, proxies and ConnectTimeout", () => {
    const out = [
      "host one",
      "user cxb1",
      "hostname 127.0.0.2",
      "port 2201",
      "identityfile /etc/nix/crossnix/one_ed25519",
      "identityfile ~/.ssh/id_ed25519",
      "hostkeyalias one",
      "proxyjump bastion",
      "connecttimeout 10",
    ].join("\n");
    expect(parseSshG(out, "/var/root")).toEqual({
      hostName: "127.0.0.2",
      port: 2201,
      user: "cxb1",
      identityFiles: ["/etc/nix/crossnix/one_ed25519", "/var/root/.ssh/id_ed25519"],
      hostKeyAlias: "one",
      proxy: "ProxyJump bastion",
      connectTimeout: 10,
    });
    expect(parseSshG("hostname box\nport 22\nconnecttimeout none\n", "/root")).toMatchObject({
      proxy: null,
      connectTimeout: null,
      hostKeyAlias: null,
      user: null,
    });
  });
});

describe("the report", () => {
  const checks: Check[] = [
    check("nix.installed", "local", "ok", "Nix", "Nix 2.8.0"),
    check("config.builders-use-substitutes", "configuration", "warn", "builders-use-substitutes", "not set", {
      description: "set it",
      auto: useSubstitutes,
    }),
    check(
      "builder.connect",
      "builder",
      "fail",
      "Connect",
      "refused",
      { description: "start it", command: "ssh box" },
      { builder: "one" },
    ),
    check("e2e.build", "end-to-end", "skip", "Build x86_64-linux", "not attempted", undefined, {
      builder: "one",
      system: "x86_64-linux",
    }),
  ];

  it("groups checks, marks them, shows fixes for problems and a summary", () => {
    const text = renderDoctorReport(checks, makeStyle(false), {
      verbose: false,
      builderUris: new Map([["one", "ssh-ng://one"]]),
      fixable: 1,
    });
    expect(text.split("\n")).toEqual([
      "Local Nix",
      "  ✓ Nix  Nix 2.8.0",
      "",
      "Configuration",
      "  ! builders-use-substitutes  not set  [config.builders-use-substitutes]",
      "                              fix: set it (crossnix doctor --fix does this)",
      "",
      "Builder one (ssh-ng://one)",
      "  ✗ Connect  refused  [builder.connect]",
      "             fix: start it",
      "             run: ssh box",
      "",
      "End to end",
      "  - one x86_64-linux  not attempted",
      "",
      "Problems found: 1 failed, 1 warning, 1 ok, 1 skipped.",
      "1 fix can be applied as one plan (you see the diff first): crossnix doctor --fix",
    ]);
  });

  it("JSON keeps id, builder, status, observed and fix", () => {
    expect(checks.map(checkJson)[2]).toEqual({
      id: "builder.connect",
      group: "builder",
      builder: "one",
      status: "fail",
      title: "Connect",
      observed: "refused",
      fix: { description: "start it", command: "ssh box" },
    });
    expect(checkJson(checks[0]!).fix).toBeNull();
  });
});
