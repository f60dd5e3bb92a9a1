// The doctor's pure checks on fact fixtures: no processes, no files.
import { describe, expect, it } from "vitest";
import type { BuilderContext, BuilderFacts } from "../../src/core/doctor/builder.js";
import type { ConfigFacts, MachinesFacts } from "../../src/core/doctor/config.js";
import type { LocalFacts } from "../../src/core/doctor/local.js";
import { parseMachinesTolerant } from "../../src/core/doctor/machines.js";
import { type FleetBuilder, fleetFromMachines } from "../../src/core/builders/fleet.js";
import { parseMachinesFile } from "../../src/core/formats/machines/index.js";
import { parseNixConf } from "../../src/core/formats/nix-conf.js";
import type { ProbeFacts } from "../../src/core/builders/probe.js";
import type { ConfigLayer } from "../../src/core/nix/settings.js";
import {
  authCheck,
  builderChecks,
  connectCheck,
  featuresCheck,
  hostKeyCheck,
  identityCheck,
  nixVersionCheck,
  remoteProgramCheck,
  systemsCheck,
  trustCheck,
  diskCheck,
  loginShellCheck,
  connectTimeoutCheck,
} from "../../src/core/doctor/builder.js";
import {
  buildersCheck,
  buildersView,
  clientBuildersUntrustedCheck,
  configChecks,
  daemonStaleCheck,
  extraBuildersCheck,
  legacyRemoteSystemsCheck,
  machinesFileCheck,
  maxJobsZeroCheck,
  nixConfCheck,
  useSubstitutesCheck,
  userMachinesFileCheck,
} from "../../src/core/doctor/config.js";
import { daemonSshCheck, nixDaemonCheck, nixInstalledCheck, privilegesCheck } from "../../src/core/doctor/local.js";
import { checkIds } from "../../src/core/doctor/types.js";
import { fingerprintSha256 } from "../../src/core/formats/known-hosts.js";
import { ed25519Key } from "../helpers/keys.js";

const KEY_A = ed25519Key(1);
const KEY_B = ed25519Key(2);
const PIN_A = Buffer.from(`ssh-ed25519 ${KEY_A}`).toString("base64");

function builderFrom(line: string, file = "/etc/nix/machines"): FleetBuilder {
  return fleetFromMachines([{ path: file, model: parseMachinesFile(`${line}\n`, file) }])[0]!;
}

const ONE = `ssh-ng://one x86_64-linux /etc/nix/crossnix/one_ed25519 2 - benchmark,big-parallel,nixos-test - ${PIN_A} # crossnix:one`;

function probeFacts(over: Partial<ProbeFacts> = {}): ProbeFacts {
  return {
    user: "cxb1",
    groups: ["cxb1"],
    uname: "Linux x86_64",
    nixVersion: "2.8.0",
    determinateVersion: null,
    systems: ["x86_64-linux"],
    features: ["benchmark", "big-parallel", "nixos-test"],
    cpus: 2,
    freeBytes: 80 * 2 ** 30,
    onPath: { nixDaemon: "/usr/bin/nix-daemon", nixStore: "/usr/bin/nix-store" },
    candidates: ["/nix/var/nix/profiles/default/bin"],
    trusted: true,
    trustSource: "single-user-store",
    trustedUsers: [],
    shellNoise: "",
    ...over,
  };
}

function builderFacts(over: Partial<BuilderFacts> = {}, probe: Partial<ProbeFacts> = {}): BuilderFacts {
  return {
    ssh: {
      hostName: "127.0.0.2",
      port: 2201,
      user: "cxb1",
      identityFiles: ["/etc/nix/crossnix/one_ed25519"],
      hostKeyAlias: "one",
      proxy: null,
      connectTimeout: 10,
    },
    sshError: null,
    connect: { ok: true, address: "127.0.0.2", ms: 3, banner: "SSH-2.0-OpenSSH_9.2p1" },
    keyscan: { keys: [{ keyType: "ssh-ed25519", key: KEY_A }], error: null },
    identities: [
      {
        path: "/etc/nix/crossnix/one_ed25519",
        source: "entry",
        exists: true,
        readable: true,
        mode: 0o100600,
        uid: 0,
        passphrase: false,
        publicKeyExists: true,
      },
    ],
    probe: { ok: true, facts: probeFacts(probe), remoteProgramExecutable: null, seconds: 0.3 },
    notRunReason: null,
    timeoutSeconds: 10,
    ...over,
  };
}

const BCTX: BuilderContext = {
  localSystem: "aarch64-darwin",
  localNixVersion: "2.31.1",
  useSubstitutes: true,
  mode: "daemon",
  user: "root",
};

function localFacts(over: Partial<LocalFacts> = {}): LocalFacts {
  return {
    platform: "darwin",
    system: "aarch64-darwin",
    uid: 0,
    nix: { present: true, version: "2.31.1", determinate: "3.11.2", raw: "nix (Determinate Nix 3.11.2) 2.31.1" },
    flavor: "determinate",
    flavorEvidence: ["nix --version reports Determinate Nix 3.11.2"],
    mode: "daemon",
    settingsFile: "/etc/nix/nix.custom.conf",
    machinesFile: "/etc/nix/machines",
    readOnlyReason: null,
    daemon: {
      socketPath: "/nix/var/nix/daemon-socket/socket",
      socket: "answers",
      socketError: null,
      pid: 321,
      startedAt: Date.parse("2025-01-02T10:00:00Z"),
      env: {},
      reloadCommand: "launchctl kickstart -k system/systems.determinate.nix-daemon",
    },
    ...over,
  };
}

function layer(source: string, kind: ConfigLayer["kind"], text: string | null): ConfigLayer {
  return { source, kind, conf: text === null ? null : parseNixConf(text, source) };
}

function machinesFacts(path: string, text: string | null): MachinesFacts {
  return {
    path,
    exists: text !== null,
    readError: null,
    parsed: text === null ? null : parseMachinesTolerant(text, path),
  };
}

/** A Determinate setup: nix.conf includes nix.custom.conf, where crossnix's settings live. */
function configFacts(
  options: {
    system?: string;
    user?: string | null;
    nixConfig?: string;
    machines?: string | null;
    over?: Partial<ConfigFacts>;
  } = {},
): ConfigFacts {
  const system = options.system ?? "builders = @/etc/nix/machines\nbuilders-use-substitutes = true\n";
  const clientLayers = [layer("/Users/ann/.config/nix/nix.conf", "user-file", options.user ?? null)];
  if (options.nixConfig !== undefined) clientLayers.push(layer("NIX_CONFIG", "env", options.nixConfig));
  return {
    systemLayers: [layer("/etc/nix/nix.conf", "system-file", system)],
    clientLayers,
    loadErrors: [],
    user: { name: "ann", groups: ["staff"], viaSudo: true },
    clientRemoteSystems: undefined,
    daemonEnv: {},
    fileTimes: [{ path: "/etc/nix/nix.conf", mtimeMs: Date.parse("2025-01-01T09:00:00Z") }],
    machines: [machinesFacts("/etc/nix/machines", options.machines === undefined ? `${ONE}\n` : options.machines)],
    userMachinesFiles: [],
    ...options.over,
  };
}

const statuses = (checks: { id: string; status: string }[]) => Object.fromEntries(checks.map((c) => [c.id, c.status]));

describe("local checks", () => {
  it("nix.installed: missing Nix fails with the installer command; < 2.4 warns; Determinate is named", () => {
    const missing = nixInstalledCheck(
      localFacts({ nix: { present: false, version: null, determinate: null, raw: null } }),
    );
    expect(missing.status).toBe("fail");
    expect(missing.fix?.command).toContain("install.determinate.systems");
    expect(
      nixInstalledCheck(localFacts({ nix: { present: true, version: "2.3.16", determinate: null, raw: "" } })).status,
    ).toBe("warn");
    expect(nixInstalledCheck(localFacts())).toMatchObject({
      status: "ok",
      observed: "Determinate Nix 3.11.2 (Nix 2.31.1)",
    });
  });

  it("nix.daemon: a refused socket fails with the restart command as an auto fix", () => {
    const local = localFacts();
    const refused = nixDaemonCheck({
      ...local,
      daemon: { ...local.daemon, socket: "refused", socketError: "ECONNREFUSED" },
    });
    expect(refused.status).toBe("fail");
    expect(refused.observed).toContain("refuses connections (ECONNREFUSED)");
    expect(refused.fix).toMatchObject({
      command: "launchctl kickstart -k system/systems.determinate.nix-daemon",
      auto: { kind: "restart-daemon" },
    });
    expect(nixDaemonCheck(local).status).toBe("ok");
    expect(nixDaemonCheck(localFacts({ mode: "single-user" })).observed).toContain("single-user");
  });

  it("nix.daemon-ssh: no ssh on the daemon's PATH fails; an unknown environment skips", () => {
    const local = localFacts();
    expect(daemonSshCheck({ ...local, daemon: { ...local.daemon, sshOnPath: null } }).observed).toContain(
      "unable to execute 'ssh'",
    );
    expect(daemonSshCheck({ ...local, daemon: { ...local.daemon, sshOnPath: "/usr/bin/ssh" } }).status).toBe("ok");
    expect(daemonSshCheck(local).status).toBe("skip");
  });

  it("local.root: a non-root user of a multi-user install is told to use sudo", () => {
    const check = privilegesCheck(localFacts({ uid: 501 }), "ann");
    expect(check).toMatchObject({ status: "warn", fix: { command: "sudo crossnix doctor" } });
    expect(privilegesCheck(localFacts(), "ann").status).toBe("ok");
  });
});

describe("configuration checks", () => {
  it("a clean Determinate configuration is all ok", () => {
    const checks = configChecks(localFacts(), configFacts());
    expect(checks.filter((c) => c.status !== "ok").map((c) => `${c.id}: ${c.observed}`)).toEqual([]);
  });

  it("config.builders: a builders value that skips the machines file with crossnix builders in it fails, auto-fixable", () => {
    const c = configFacts({ system: "builders = ssh://other x86_64-linux\nbuilders-use-substitutes = true\n" });
    const check = buildersCheck(localFacts(), c, buildersView(c));
    expect(check.status).toBe("fail");
    expect(check.observed).toContain("it does not read /etc/nix/machines, where 1 builder is registered");
    expect(check.fix?.auto).toEqual({ kind: "builders-include" });
  });

  it("config.builders: no builders anywhere warns with 'crossnix builder add'", () => {
    const c = configFacts({ machines: null });
    expect(buildersCheck(localFacts(), c, buildersView(c))).toMatchObject({
      status: "warn",
      fix: { command: "crossnix builder add user@host" },
    });
  });

  it("seed guide: NIX_REMOTE_SYSTEMS in the shell has no effect on daemon builds; in the daemon's environment it replaces the default", () => {
    const shell = configFacts({ over: { clientRemoteSystems: "/Users/ann/.config/nix/machines" } });
    const c1 = legacyRemoteSystemsCheck(localFacts(), shell, buildersView(shell));
    expect(c1.status).toBe("warn");
    expect(c1.observed).toContain("which never sees your environment, so it has no effect");
    const daemon = configFacts({
      system: "builders-use-substitutes = true\n",
      over: { daemonEnv: { NIX_REMOTE_SYSTEMS: "/opt/machines" } },
    });
    const view = buildersView(daemon);
    expect(view.system.value).toBe("@/opt/machines");
    expect(legacyRemoteSystemsCheck(localFacts(), daemon, view).observed).toContain(
      "it replaces the default @/etc/nix/machines",
    );
    // …and then crossnix's machines file is not read at all.
    expect(buildersCheck(localFacts(), daemon, view).status).toBe("fail");
    expect(legacyRemoteSystemsCheck(localFacts(), configFacts(), buildersView(configFacts())).status).toBe("ok");
  });

  it("seed guide: ~/.config/nix/machines is never read unless builders points at it", () => {
    const c = configFacts({ over: { userMachinesFiles: [{ path: "/Users/ann/.config/nix/machines", entries: 2 }] } });
    const check = userMachinesFileCheck(localFacts(), c, buildersView(c));
    expect(check.status).toBe("warn");
    expect(check.observed).toBe(
      "/Users/ann/.config/nix/machines (2 entries) exists, but Nix never reads it: only the builders setting (default @/etc/nix/machines) says where machines are",
    );
    const pointed = configFacts({
      system: "builders = @/etc/nix/machines ; @/Users/ann/.config/nix/machines\n",
      over: { userMachinesFiles: [{ path: "/Users/ann/.config/nix/machines", entries: 2 }] },
    });
    expect(userMachinesFileCheck(localFacts(), pointed, buildersView(pointed)).status).toBe("ok");
  });

  it("seed guide: extra-builders is an unknown setting and fails", () => {
    const c = configFacts({ user: "extra-builders = ssh://mac-mini aarch64-darwin\n" });
    const check = extraBuildersCheck(c);
    expect(check.status).toBe("fail");
    expect(check.observed).toContain("extra-builders at /Users/ann/.config/nix/nix.conf:1");
    expect(check.observed).toContain("unknown setting 'extra-builders'");
    expect(extraBuildersCheck(configFacts({ user: "extra-platforms = x86_64-darwin\n" })).status).toBe("ok");
  });

  it("config.client-builders-untrusted: ignored for an untrusted user, silently on 2.4–2.21; honoured for @group members", () => {
    const c = configFacts({ user: "builders = ssh://box x86_64-linux\n" });
    const view = buildersView(c);
    expect(view.used.source).toBe("/etc/nix/nix.conf:1");
    const old = clientBuildersUntrustedCheck(
      localFacts({ nix: { present: true, version: "2.8.0", determinate: null, raw: "" } }),
      c,
      view,
    );
    expect(old.status).toBe("fail");
    expect(old.observed).toContain("the daemon ignores it — silently, on Nix 2.8.0: ann is not a trusted user");
    const recent = clientBuildersUntrustedCheck(localFacts(), c, view);
    expect(recent.observed).not.toContain("silently");
    const grouped = configFacts({
      system: "trusted-users = root @staff\nbuilders = @/etc/nix/machines\n",
      user: "builders = ssh://box x86_64-linux\n",
    });
    const trusted = buildersView(grouped);
    expect(trusted.trusted).toBe(true);
    expect(trusted.used.value).toBe("ssh://box x86_64-linux");
    expect(clientBuildersUntrustedCheck(localFacts(), grouped, trusted).status).toBe("ok");
    // an empty value is allowed from anyone (daemon.cc)
    const empty = configFacts({ nixConfig: "builders =\n" });
    expect(clientBuildersUntrustedCheck(localFacts(), empty, buildersView(empty)).status).toBe("ok");
  });

  it("config.machines-file: an invalid line fails at file:line:column; the valid entries are still read", () => {
    const text = `${ONE}\nssh://bad x86_64-linux - eight\nssh://ok x86_64-linux\n`;
    const c = configFacts({ machines: text });
    const check = machinesFileCheck(localFacts(), c, buildersView(c));
    expect(check.status).toBe("fail");
    expect(check.observed).toContain("/etc/nix/machines:2:");
    expect(check.observed).toContain("failed to convert column #3 to 'unsigned int'");
    expect(c.machines[0]!.parsed!.model.lines.filter((l) => l.items.length).length).toBe(2);
  });

  it("config.machines-file: an entry without systems warns (Nix assumes the local system)", () => {
    const c = configFacts({ machines: "ssh://box\n" });
    const check = machinesFileCheck(localFacts(), c, buildersView(c));
    expect(check).toMatchObject({ status: "warn" });
    expect(check.observed).toContain(
      "/etc/nix/machines:1: no systems column, so Nix assumes this machine's own system (aarch64-darwin)",
    );
  });

  it("config.nix-conf: a syntax error or a missing include fails", () => {
    const c = configFacts({
      system: "builders=@/etc/nix/machines\n",
      over: { loadErrors: ["file '/etc/nix/x.conf' included from '/etc/nix/nix.conf' not found"] },
    });
    const check = nixConfCheck(c);
    expect(check.status).toBe("fail");
    expect(check.observed).toContain("not found");
    expect(check.observed).toContain("/etc/nix/nix.conf:1:1: syntax error in configuration line");
  });

  it("config.builders-use-substitutes: unset warns with an auto fix setting it to true", () => {
    const c = configFacts({ system: "builders = @/etc/nix/machines\n" });
    const check = useSubstitutesCheck(c, buildersView(c));
    expect(check.status).toBe("warn");
    expect(check.fix?.auto).toMatchObject({ kind: "set-setting", name: "builders-use-substitutes", value: "true" });
    expect(
      useSubstitutesCheck(configFacts({ machines: null }), buildersView(configFacts({ machines: null }))).status,
    ).toBe("skip");
  });

  it("config.daemon-stale: settings changed after the daemon started fail (restart); unknown start time skips", () => {
    const started = Date.parse("2025-01-02T10:00:00Z");
    const stale = configFacts({
      over: { fileTimes: [{ path: "/etc/nix/nix.custom.conf", mtimeMs: started + 60_000 }] },
    });
    const check = daemonStaleCheck(localFacts(), stale);
    expect(check.status).toBe("fail");
    expect(check.observed).toContain(
      "/etc/nix/nix.custom.conf (2025-01-02T10:01:00.000Z) changed after the daemon started",
    );
    expect(check.fix?.auto).toEqual({ kind: "restart-daemon" });
    // ps -o lstart has second resolution: within a second is not stale; /proc is precise
    const local = localFacts();
    const soon = configFacts({ over: { fileTimes: [{ path: "/etc/nix/nix.conf", mtimeMs: started + 500 }] } });
    expect(daemonStaleCheck({ ...local, daemon: { ...local.daemon, startedAtResolutionMs: 1000 } }, soon).status).toBe(
      "ok",
    );
    expect(daemonStaleCheck({ ...local, daemon: { ...local.daemon, startedAtResolutionMs: 50 } }, soon).status).toBe(
      "fail",
    );
    expect(daemonStaleCheck({ ...local, daemon: { ...local.daemon, startedAt: null } }, stale).status).toBe("skip");
  });

  it("config.max-jobs-zero: fails only when no builder is usable", () => {
    const zero = configFacts({ system: "max-jobs = 0\nbuilders = @/etc/nix/machines\n" });
    expect(maxJobsZeroCheck(zero, { usable: 0, checked: 2, filtered: false })).toMatchObject({ status: "fail" });
    expect(maxJobsZeroCheck(zero, { usable: 0, checked: 2, filtered: false }).observed).toContain(
      "none of the 2 builders works",
    );
    expect(maxJobsZeroCheck(zero, { usable: 1, checked: 2, filtered: false }).status).toBe("ok");
    expect(maxJobsZeroCheck(configFacts(), { usable: 0, checked: 0, filtered: false }).status).toBe("ok");
  });
});

describe("builder checks", () => {
  const one = builderFrom(ONE);

  it("a healthy builder is all ok, in dependency order", () => {
    const checks = builderChecks(one, builderFacts(), BCTX);
    // Every builder check but builder.enabled (which stands in for them when disabled), in table order.
    expect(checks.map((c) => c.id)).toEqual(checkIds("builder").filter((id) => id !== "builder.enabled"));
    expect(checks.filter((c) => c.status !== "ok").map((c) => `${c.id}: ${c.observed}`)).toEqual([]);
    expect(checks.every((c) => c.builder === "one" && c.group === "builder")).toBe(true);
  });

  it("refused: connect fails, everything after it is skipped", () => {
    const f = builderFacts({
      connect: { ok: false, cause: "refused", message: "ECONNREFUSED", ms: 1 },
      keyscan: null,
      probe: null,
      notRunReason: "no connection (see builder.connect)",
    });
    const s = statuses(builderChecks(one, f, BCTX));
    expect(s).toMatchObject({
      "builder.connect": "fail",
      "builder.host-key": "skip",
      "builder.auth": "skip",
      "builder.trust": "skip",
    });
    expect(connectCheck(one, f).observed).toBe(
      "127.0.0.2:2201 refused the connection: nothing listens there (sshd stopped, machine down, or wrong port)",
    );
  });

  it("hung: no banner; without ConnectTimeout Nix would wait forever", () => {
    const f = builderFacts({ connect: { ok: false, cause: "no-banner", message: "", ms: 3000 } });
    f.ssh!.connectTimeout = null;
    expect(connectCheck(one, f).observed).toContain(
      "sent no SSH banner in 3 s: its sshd is hung or the machine is wedged, and without ConnectTimeout Nix waits for it forever",
    );
    expect(connectTimeoutCheck(one, f)).toMatchObject({ status: "warn" });
  });

  it("host key changed: fail (possible impersonation), pin fix that needs confirmation; login is skipped", () => {
    const f = builderFacts({ keyscan: { keys: [{ keyType: "ssh-ed25519", key: KEY_B }], error: null } });
    const check = hostKeyCheck(one, f);
    expect(check.status).toBe("fail");
    expect(check.observed).toContain(
      `serves ssh-ed25519 ${fingerprintSha256(KEY_B)}, but ssh-ed25519 ${fingerprintSha256(KEY_A)} is pinned: possible impersonation`,
    );
    expect(check.fix).toMatchObject({
      command: "crossnix doctor --builder one --fix",
      auto: { kind: "pin-host-key", builder: "one", pinned: `ssh-ed25519 ${KEY_A}`, served: `ssh-ed25519 ${KEY_B}` },
    });
    expect(authCheck(one, f, BCTX).status).toBe("skip");
  });

  it("host key not pinned warns; a foreign entry gets no auto fix", () => {
    const foreign = builderFrom("ssh://nix@box x86_64-linux");
    const check = hostKeyCheck(foreign, builderFacts());
    expect(check.status).toBe("warn");
    expect(check.fix?.auto).toBeUndefined();
  });

  it("identity: readable by others, passphrase, wrong owner, missing", () => {
    const id = (over: object) => builderFacts({ identities: [{ ...builderFacts().identities[0]!, ...over }] });
    expect(identityCheck(one, id({ mode: 0o100644 }), BCTX)).toMatchObject({
      status: "fail",
      fix: { command: "chmod 600 /etc/nix/crossnix/one_ed25519" },
    });
    const passphrase = identityCheck(one, id({ passphrase: true }), BCTX);
    expect(passphrase.status).toBe("fail");
    expect(passphrase.observed).toContain(
      "protected by a passphrase: the daemon cannot type it, and your ssh-agent is invisible to it",
    );
    expect(identityCheck(one, id({ uid: 501 }), BCTX)).toMatchObject({
      status: "warn",
      fix: { command: "chown root /etc/nix/crossnix/one_ed25519" },
    });
    expect(identityCheck(one, id({ exists: false, readable: false, mode: null, uid: null }), BCTX).status).toBe("fail");
    expect(identityCheck(one, id({ readable: false }), BCTX)).toMatchObject({
      status: "skip",
      fix: { command: "sudo crossnix doctor" },
    });
  });

  it("identity: no key in the entry and none of root's default identities exists (agent keys are invisible)", () => {
    const noKey = builderFrom("ssh-ng://box x86_64-linux");
    const f = builderFacts({
      identities: ["/var/root/.ssh/id_rsa", "/var/root/.ssh/id_ed25519"].map((path) => ({
        path,
        source: "ssh-config" as const,
        exists: false,
        readable: false,
        mode: null,
        uid: null,
        passphrase: null,
        publicKeyExists: false,
      })),
    });
    const check = identityCheck(noKey, f, BCTX);
    expect(check.status).toBe("fail");
    expect(check.observed).toContain("keys in your ssh-agent are invisible to the daemon");
  });

  it("auth: a rejected key fails with the ssh-copy-id command for the daemon's public key", () => {
    const f = builderFacts({
      probe: {
        ok: false,
        failure: {
          cause: "auth",
          summary: "rejected",
          fix: "",
          evidence: "cxb1@127.0.0.2: Permission denied (publickey).",
        },
        stderr: "",
        seconds: 0.2,
      },
    });
    const check = authCheck(one, f, BCTX);
    expect(check.status).toBe("fail");
    expect(check.fix?.command).toBe("ssh-copy-id -i /etc/nix/crossnix/one_ed25519.pub -p 2201 cxb1@127.0.0.2");
    expect(statuses(builderChecks(one, f, BCTX))["builder.trust"]).toBe("skip");
  });

  it("auth: a pinned key behind a Port without HostKeyAlias can never match", () => {
    const f = builderFacts({
      probe: {
        ok: false,
        failure: { cause: "host-key-unknown", summary: "", fix: "", evidence: "Host key verification failed." },
        stderr: "",
        seconds: 0.1,
      },
    });
    f.ssh!.hostKeyAlias = null;
    const check = authCheck(one, f, BCTX);
    expect(check.observed).toContain(
      "ssh looks it up as [127.0.0.2]:2201 because 'one' has Port 2201 and no HostKeyAlias",
    );
    expect(check.fix?.description).toContain("HostKeyAlias one");
  });

  it("remote-program: not on PATH fails with the installer's path; auto fix only for crossnix's entries", () => {
    const f = builderFacts({}, { onPath: { nixDaemon: null, nixStore: null } });
    const check = remoteProgramCheck(one, f);
    expect(check.status).toBe("fail");
    expect(check.observed).toContain(
      "nix-daemon is not on cxb1's non-interactive PATH (it is at /nix/var/nix/profiles/default/bin/nix-daemon)",
    );
    expect(check.fix?.auto).toEqual({
      kind: "remote-program",
      builder: "one",
      program: "/nix/var/nix/profiles/default/bin/nix-daemon",
    });
    const foreign = builderFrom("ssh://nix@box x86_64-linux", "/etc/nix/machines");
    const other = remoteProgramCheck(foreign, f);
    expect(other.observed).toContain("nix-store is not on");
    expect(other.fix?.auto).toBeUndefined();
    expect(other.fix?.description).toContain(
      "append ?remote-program=/nix/var/nix/profiles/default/bin/nix-store to its store URI at /etc/nix/machines:1",
    );
    const set = builderFrom(ONE.replace("ssh-ng://one", "ssh-ng://one?remote-program=/opt/nix-daemon"));
    expect(
      remoteProgramCheck(
        set,
        builderFacts({ probe: { ok: true, facts: probeFacts(), remoteProgramExecutable: false, seconds: 0.1 } }),
      ).status,
    ).toBe("fail");
  });

  it("remote program: a reported Nix directory that cannot go into a store URI is named, not offered as a fix", () => {
    const one = builderFrom(ONE);
    const f = builderFacts({}, { onPath: { nixDaemon: null, nixStore: null }, candidates: ["/x&y=$(id)"] });
    const check = remoteProgramCheck(one, f);
    expect(check.status).toBe("fail");
    expect(check.fix?.auto).toBeUndefined();
    expect(check.fix?.description).toContain("--remote-program");
  });

  it("login shell noise, untrusted user, low disk", () => {
    expect(loginShellCheck(one, builderFacts({}, { shellNoise: "Welcome!\n" })).observed).toContain(
      "prints 'Welcome!' before running any command",
    );
    const untrusted = trustCheck(
      one,
      builderFacts({}, { trusted: false, trustSource: "trusted-users", trustedUsers: ["root"] }),
    );
    expect(untrusted.status).toBe("fail");
    expect(untrusted.fix?.description).toContain("trusted-users = root cxb1");
    expect(diskCheck(one, builderFacts({}, { freeBytes: 200 * 2 ** 20 })).status).toBe("fail");
    expect(diskCheck(one, builderFacts({}, { freeBytes: 3 * 2 ** 30 })).status).toBe("warn");
  });

  it("systems: an entry listing what the builder cannot build fails; no column on a Mac assumes aarch64-darwin", () => {
    const two = builderFrom(ONE.replace("x86_64-linux", "x86_64-linux,aarch64-linux"));
    expect(systemsCheck(two, builderFacts(), BCTX).observed).toContain(
      "the entry lists aarch64-linux, but the builder builds only x86_64-linux",
    );
    const none = builderFrom("ssh-ng://box");
    const check = systemsCheck(none, builderFacts(), BCTX);
    expect(check.status).toBe("fail");
    expect(check.observed).toContain("Nix sends it only aarch64-darwin builds");
  });

  it("features: claimed but missing fails; offered but unlisted warns", () => {
    const claims = builderFrom(ONE.replace("benchmark,big-parallel,nixos-test", "kvm"));
    expect(featuresCheck(claims, builderFacts()).status).toBe("fail");
    const lists = builderFrom(ONE.replace("benchmark,big-parallel,nixos-test", "benchmark"));
    expect(featuresCheck(lists, builderFacts()).observed).toContain(
      "the builder has big-parallel, nixos-test, which the entry does not list",
    );
  });

  it("nix-version: a port in the store URI fails before Nix 2.31; old Nix with ssh-ng and substitutes warns", () => {
    const port = builderFrom("ssh-ng://nix@127.0.0.5:2222 x86_64-linux");
    const check = nixVersionCheck(port, builderFacts(), { ...BCTX, localNixVersion: "2.8.0" });
    expect(check.status).toBe("fail");
    expect(check.observed).toContain('"Could not resolve hostname 127.0.0.5:2222"');
    expect(nixVersionCheck(port, builderFacts(), BCTX).status).toBe("ok");
    expect(nixVersionCheck(one, builderFacts({}, { nixVersion: "2.3.16" }), BCTX).status).toBe("warn");
  });
});
