// Doctor's per-builder checks (connect, host key, identity, login, remote program, trust, systems, …).
// One file because every check reads the same BuilderFacts and helpers, and builderChecks orders them.
import type { SshFailure } from "../diagnosis/ssh.js";
import type { FleetBuilder } from "../builders/fleet.js";
import { fingerprintSha256, preferredHostKey } from "../formats/known-hosts.js";
import { atLeast } from "../nix/version.js";
import type { ProbeFacts } from "../builders/probe.js";
import { isPlainRemoteProgram } from "../builders/remote-program.js";
import { type Check, type CheckFix, type CheckId, type CheckStatus, check, formatBytes } from "./types.js";

/** What `ssh -G` says ssh will really use for a builder (as root, when doctor runs as root). */
export interface SshView {
  hostName: string;
  port: number;
  user: string | null;
  identityFiles: string[];
  hostKeyAlias: string | null;
  /** ProxyJump / ProxyCommand when set: then doctor cannot open a TCP connection itself. */
  proxy: string | null;
  /** Seconds, or null for none (OpenSSH's default: wait as long as TCP does). */
  connectTimeout: number | null;
}

export type ConnectFacts =
  | { ok: true; address: string; ms: number; banner: string }
  | {
      ok: false;
      cause: "dns" | "refused" | "timeout" | "no-banner" | "unreachable" | "not-ssh" | "other";
      message: string;
      ms: number;
    };

export interface IdentityFacts {
  path: string;
  /** Column 3 of the entry (Nix passes it with -i), or an IdentityFile from ssh's configuration. */
  source: "entry" | "ssh-config";
  exists: boolean;
  readable: boolean;
  mode: number | null;
  uid: number | null;
  /** True when `ssh-keygen -y -P ''` cannot open it; null when not tried. */
  passphrase: boolean | null;
  publicKeyExists: boolean;
}

export type ProbeResult =
  | { ok: true; facts: ProbeFacts; remoteProgramExecutable: boolean | null; seconds: number }
  | { ok: false; failure: SshFailure; stderr: string; seconds: number };

export interface BuilderFacts {
  ssh: SshView | null;
  sshError: string | null;
  /** null when doctor did not connect itself (no ssh view, or through a proxy). */
  connect: ConnectFacts | null;
  keyscan: { keys: { keyType: string; key: string }[]; error: string | null } | null;
  identities: IdentityFacts[];
  probe: ProbeResult | null;
  /** Why the keyscan / probe did not run, when they did not. */
  notRunReason: string | null;
  /** The --timeout budget, seconds. */
  timeoutSeconds: number;
}

export interface BuilderContext {
  localSystem: string;
  localNixVersion: string | null;
  useSubstitutes: boolean;
  mode: "daemon" | "single-user";
  /** Doctor's user: root sees what the daemon sees. */
  user: string;
}

const HOST_KEY_FILES = "/etc/ssh/ssh_host_ed25519_key.pub";

function builderCheck(
  b: FleetBuilder,
  id: CheckId,
  status: CheckStatus,
  title: string,
  observed: string,
  fix?: CheckFix,
): Check {
  return check(id, "builder", status, title, observed, fix, { builder: b.name });
}

function skip(b: FleetBuilder, id: CheckId, title: string, why: string): Check {
  return builderCheck(b, id, "skip", title, why);
}

function target(b: FleetBuilder, f: BuilderFacts): string {
  const user = f.ssh?.user ?? b.authority.user;
  const host = f.ssh?.hostName ?? b.authority.host;
  return `${user ? `${user}@` : ""}${host}`;
}

/** A destination for `crossnix builder add` that reproduces this builder. */
function destination(b: FleetBuilder, f: BuilderFacts): string {
  const port = f.ssh?.port ?? b.authority.port;
  return `${target(b, f)}${port && port !== 22 ? `:${port}` : ""}`;
}

function entryKey(b: FleetBuilder, f: BuilderFacts): string | null {
  return b.entry.sshKey ?? f.identities.find((i) => i.exists)?.path ?? null;
}

/**
 * Nix passes `[user@]host` to ssh as its first argument, with no `--` before it: one starting with
 * '-' is read as an option (`-oProxyCommand=…` runs a command as the daemon's user, root).
 */
export function destinationIsOption(b: FleetBuilder): boolean {
  return `${b.authority.user ? `${b.authority.user}@` : ""}${b.authority.host}`.startsWith("-");
}

export function connectCheck(b: FleetBuilder, f: BuilderFacts): Check {
  const id = "builder.connect";
  const title = "Connect";
  if (destinationIsOption(b)) {
    return builderCheck(
      b,
      id,
      "fail",
      title,
      `the destination of ${b.uri} starts with '-': ssh reads it as an option (it can run a command), so crossnix runs nothing for it`,
      {
        description: `remove or correct the entry at ${b.file}:${b.line}; a host or user never starts with '-'`,
      },
    );
  }
  if (!f.ssh) {
    return builderCheck(b, id, "fail", title, `ssh -G ${b.authority.host} failed: ${f.sshError ?? "no output"}`, {
      description: "install the OpenSSH client and fix the ssh configuration it complains about",
    });
  }
  const where = `${f.ssh.hostName}:${f.ssh.port}`;
  if (f.ssh.proxy) return skip(b, id, title, `reached through ${f.ssh.proxy}; see builder.auth`);
  const c = f.connect;
  if (!c) return skip(b, id, title, f.notRunReason ?? "not attempted");
  if (c.ok) {
    const alias = f.ssh.hostName !== b.authority.host ? `'${b.authority.host}' is ${where}` : where;
    return builderCheck(b, id, "ok", title, `${alias} (${c.address}) answered in ${c.ms} ms: ${c.banner}`);
  }
  const seconds = Math.round(c.ms / 100) / 10;
  switch (c.cause) {
    case "dns":
      return builderCheck(b, id, "fail", title, `${f.ssh.hostName} does not resolve (${c.message})`, {
        description: `check HostName for '${b.authority.host}' in the ssh alias (/etc/ssh/ssh_config.d/crossnix.conf), or use an IP address`,
      });
    case "refused":
      return builderCheck(
        b,
        id,
        "fail",
        title,
        `${where} refused the connection: nothing listens there (sshd stopped, machine down, or wrong port)`,
        {
          description: "start the builder and its sshd, or fix the Port of its ssh alias",
        },
      );
    case "timeout":
      return builderCheck(
        b,
        id,
        "fail",
        title,
        `no TCP answer from ${where} in ${seconds} s (machine down, firewalled, or wrong address)`,
        {
          description: "check that the builder is up and reachable from here; raise --timeout for slow links",
        },
      );
    case "no-banner":
      return builderCheck(
        b,
        id,
        "fail",
        title,
        `${where} accepted the TCP connection but sent no SSH banner in ${seconds} s: its sshd is hung or the machine is wedged${f.ssh.connectTimeout === null ? ", and without ConnectTimeout Nix waits for it forever" : ""}`,
        {
          description:
            "restart sshd on the builder (or reboot it); until then, disable it: crossnix builder disable " + b.name,
        },
      );
    case "unreachable":
      return builderCheck(b, id, "fail", title, `${where} is unreachable (${c.message})`, {
        description: "check the network path and the builder's address",
      });
    case "not-ssh":
      return builderCheck(b, id, "fail", title, `${where} answered, but not as an SSH server: '${c.message}'`, {
        description: "fix the Port of the builder's ssh alias",
      });
    default:
      return builderCheck(b, id, "fail", title, `cannot connect to ${where}: ${c.message}`, {
        description: "check the builder's address and port",
      });
  }
}

export function connectTimeoutCheck(b: FleetBuilder, f: BuilderFacts): Check {
  const id = "builder.connect-timeout";
  const title = "ConnectTimeout";
  if (!f.ssh) return skip(b, id, title, "no ssh configuration (see builder.connect)");
  if (f.ssh.connectTimeout !== null)
    return builderCheck(
      b,
      id,
      "ok",
      title,
      `${f.ssh.connectTimeout} s: a hung builder fails fast instead of hanging builds`,
    );
  return builderCheck(
    b,
    id,
    "warn",
    title,
    `no ConnectTimeout for '${b.authority.host}': Nix sets no timeout of its own, so if this builder hangs, every build that picks it hangs forever`,
    {
      description: `add 'ConnectTimeout 10' to its Host block; re-adding it with crossnix writes one`,
      command: `crossnix builder add ${destination(b, f)} --name ${b.name}${b.entry.sshKey ? ` --identity ${b.entry.sshKey}` : ""}`,
    },
  );
}

function connected(f: BuilderFacts): boolean {
  return f.connect?.ok === true || (f.ssh?.proxy != null && f.connect === null);
}

/** The served key that replaces a pin: the same type as the pinned one if offered, else the preferred one. */
export function servedKeyToPin(keys: { keyType: string; key: string }[], pinnedType: string | null) {
  return keys.find((k) => k.keyType === pinnedType) ?? preferredHostKey(keys);
}

export function hostKeyMismatch(b: FleetBuilder, f: BuilderFacts): boolean {
  if (!b.hostKeyLine || !f.keyscan || f.keyscan.keys.length === 0) return false;
  const [type, key] = b.hostKeyLine.split(/\s+/);
  return !f.keyscan.keys.some((k) => k.keyType === type && k.key === key);
}

export function hostKeyCheck(b: FleetBuilder, f: BuilderFacts): Check {
  const id = "builder.host-key";
  const title = "Host key";
  if (b.entry.hostKey && !b.hostKeyLine) {
    return builderCheck(
      b,
      id,
      "fail",
      title,
      `machines column 8 of ${b.file}:${b.line} does not decode to a public key`,
      {
        description:
          "replace column 8 with base64 of the builder's key line (ssh-keyscan -t ed25519 HOST | cut -d' ' -f2- | base64 -w0)",
      },
    );
  }
  if (!connected(f) || f.ssh?.proxy)
    return skip(
      b,
      id,
      title,
      f.ssh?.proxy ? "through a proxy: checked by builder.auth" : "no connection (see builder.connect)",
    );
  if (!f.keyscan) return skip(b, id, title, f.notRunReason ?? "not checked");
  if (f.keyscan.keys.length === 0) {
    return builderCheck(
      b,
      id,
      "warn",
      title,
      `ssh-keyscan got no host key from ${f.ssh?.hostName}:${f.ssh?.port}${f.keyscan.error ? ` (${f.keyscan.error})` : ""}`,
    );
  }
  const [pinnedType, pinnedKey] = b.hostKeyLine?.split(/\s+/) ?? [null, null];
  const served = servedKeyToPin(f.keyscan.keys, pinnedType ?? null)!;
  const servedLine = `${served.keyType} ${served.key}`;
  const servedFp = `${served.keyType} ${fingerprintSha256(served.key)}`;
  const pinFix = (why: string): CheckFix => ({
    description: `${why}: check the fingerprint on the builder itself (ssh-keygen -lf ${HOST_KEY_FILES} on its console); if it is ${servedFp.split(" ")[1]}, pin it. crossnix asks you to confirm it interactively, never with --yes alone`,
    command: `crossnix doctor --builder ${b.name} --fix`,
    ...(b.managed
      ? { auto: { kind: "pin-host-key" as const, builder: b.name, pinned: b.hostKeyLine, served: servedLine } }
      : {}),
  });
  if (pinnedKey) {
    if (!hostKeyMismatch(b, f))
      return builderCheck(
        b,
        id,
        "ok",
        title,
        `pinned ${pinnedType} ${fingerprintSha256(pinnedKey)} is what ${f.ssh?.hostName} serves`,
      );
    return builderCheck(
      b,
      id,
      "fail",
      title,
      `${f.ssh?.hostName}:${f.ssh?.port} serves ${servedFp}, but ${pinnedType} ${fingerprintSha256(pinnedKey)} is pinned: possible impersonation (man in the middle), or the builder was reinstalled. Nix refuses to connect ("REMOTE HOST IDENTIFICATION HAS CHANGED")`,
      pinFix("never accept a changed key blindly"),
    );
  }
  return builderCheck(
    b,
    id,
    "warn",
    title,
    `not pinned (machines column 8 is empty): Nix relies on root's known_hosts, where a reinstalled builder shows up only as "Host key verification failed."; it serves ${servedFp}`,
    pinFix("pin the key"),
  );
}

export function identityCheck(b: FleetBuilder, f: BuilderFacts, ctx: BuilderContext): Check {
  const id = "builder.identity";
  const title = "Key";
  const entry = f.identities.find((i) => i.source === "entry");
  const existing = f.identities.filter((i) => i.exists);
  const who = ctx.mode === "daemon" ? "the daemon (root)" : ctx.user;
  if (!entry && existing.length === 0) {
    return builderCheck(
      b,
      id,
      "fail",
      title,
      `the entry names no key (column 3) and ${who} has none of ssh's identities (${f.identities.map((i) => i.path).join(", ") || "none configured"}); keys in your ssh-agent are invisible to the daemon`,
      {
        description: "give the builder a dedicated key without passphrase: crossnix builder add creates one",
        command: `crossnix builder add ${destination(b, f)} --name ${b.name} --copy-key`,
      },
    );
  }
  const key = entry ?? existing[0]!;
  const shown = key.source === "entry" ? key.path : `${key.path} (no key in the entry: ssh's configuration for root)`;
  if (!key.exists) {
    return builderCheck(b, id, "fail", title, `${key.path} (machines column 3) does not exist`, {
      description: `create it and install its public key on the builder`,
      command: `ssh-keygen -t ed25519 -N '' -f ${key.path} && ssh-copy-id -i ${key.path}.pub ${f.ssh && f.ssh.port !== 22 ? `-p ${f.ssh.port} ` : ""}${target(b, f)}`,
    });
  }
  if (!key.readable) {
    return builderCheck(
      b,
      id,
      "skip",
      title,
      `${key.path} is not readable by ${ctx.user}; the daemon reads it as root`,
      {
        description: "run doctor as root",
        command: "sudo crossnix doctor",
      },
    );
  }
  const mode = key.mode === null ? "?" : `0${(key.mode & 0o777).toString(8)}`;
  if (key.mode !== null && (key.mode & 0o077) !== 0) {
    return builderCheck(
      b,
      id,
      "fail",
      title,
      `${shown} has mode ${mode}: ssh refuses a private key that others can read ("UNPROTECTED PRIVATE KEY FILE")`,
      {
        description: "make it private",
        command: `chmod 600 ${key.path}`,
      },
    );
  }
  if (key.passphrase) {
    return builderCheck(
      b,
      id,
      "fail",
      title,
      `${shown} is protected by a passphrase: the daemon cannot type it, and your ssh-agent is invisible to it`,
      {
        description: "remove the passphrase (or use a dedicated key without one)",
        command: `ssh-keygen -p -N '' -f ${key.path}`,
      },
    );
  }
  if (ctx.mode === "daemon" && key.uid !== null && key.uid !== 0) {
    return builderCheck(
      b,
      id,
      "warn",
      title,
      `${shown} belongs to uid ${key.uid}, not root: whoever owns it can read or replace the daemon's key`,
      {
        description: "hand it to root",
        command: `chown root ${key.path}`,
      },
    );
  }
  const owner = key.uid === 0 ? "root" : key.uid === null ? "?" : `uid ${key.uid}`;
  return builderCheck(b, id, "ok", title, `${shown}: ${mode}, ${owner}, no passphrase`);
}

export function authCheck(b: FleetBuilder, f: BuilderFacts, ctx: BuilderContext): Check {
  const id = "builder.auth";
  const title = "Login";
  if (f.ssh && !f.ssh.proxy && !connected(f)) return skip(b, id, title, "no connection (see builder.connect)");
  if (hostKeyMismatch(b, f)) return skip(b, id, title, "the host key does not match (see builder.host-key)");
  const p = f.probe;
  if (!p) return skip(b, id, title, f.notRunReason ?? "not attempted");
  const key = entryKey(b, f);
  const as = ctx.mode === "daemon" && ctx.user === "root" ? "root (as the daemon)" : ctx.user;
  if (p.ok)
    return builderCheck(
      b,
      id,
      "ok",
      title,
      `${as} logged in as ${p.facts.user}${key ? ` with ${key}` : ""} (${p.facts.uname || "?"}) in ${p.seconds.toFixed(1)} s`,
    );
  const failure = p.failure;
  const evidence = failure.evidence ? ` ("${failure.evidence}")` : "";
  switch (failure.cause) {
    case "host-key-changed":
      return builderCheck(b, id, "fail", title, `ssh refused the builder's host key: it changed${evidence}`, {
        description: "see builder.host-key; re-pin only after checking the fingerprint on the builder",
        command: `crossnix doctor --builder ${b.name} --fix`,
      });
    case "host-key-unknown": {
      const port = f.ssh?.port ?? b.authority.port ?? 22;
      if (b.hostKeyLine && port !== 22 && !f.ssh?.hostKeyAlias) {
        return builderCheck(
          b,
          id,
          "fail",
          title,
          `Host key verification failed although the key is pinned: ssh looks it up as [${f.ssh?.hostName}]:${port} because '${b.authority.host}' has Port ${port} and no HostKeyAlias, and Nix writes the pin under '${b.authority.host}'`,
          {
            description: `add 'HostKeyAlias ${b.authority.host}' to the Host ${b.authority.host} block of root's ssh configuration (crossnix's aliases have it)`,
          },
        );
      }
      return builderCheck(b, id, "fail", title, `root does not know the builder's host key${evidence}`, {
        description: "pin the host key in the machines entry (column 8) after checking its fingerprint",
        command: `crossnix doctor --builder ${b.name} --fix`,
      });
    }
    case "auth": {
      const pub = key ? `${key}.pub` : "the daemon's public key";
      const port = f.ssh && f.ssh.port !== 22 ? `-p ${f.ssh.port} ` : "";
      return builderCheck(b, id, "fail", title, `the builder rejected ${key ?? "root's keys"}${evidence}`, {
        description: `install ${pub} in ~${f.ssh?.user ?? b.authority.user ?? ""}/.ssh/authorized_keys on the builder (through your own login)`,
        command: `ssh-copy-id -i ${pub} ${port}${target(b, f)}`,
      });
    }
    case "timeout":
      return builderCheck(b, id, "fail", title, `no SSH session within ${f.timeoutSeconds} s${evidence}`, {
        description: "check that the builder's sshd is responsive; raise --timeout for slow links",
      });
    default:
      return builderCheck(b, id, "fail", title, `${failure.summary}${evidence}`, { description: failure.fix });
  }
}

function probeFacts(f: BuilderFacts): ProbeFacts | null {
  return f.probe?.ok ? f.probe.facts : null;
}

function noProbe(b: FleetBuilder, id: CheckId, title: string, f: BuilderFacts): Check {
  return skip(b, id, title, f.probe ? "could not log in (see builder.auth)" : (f.notRunReason ?? "could not log in"));
}

/** `?remote-program=…` on a store URI (machines model, docs/ssh.md#remote-program). */
export function remoteProgramCheck(b: FleetBuilder, f: BuilderFacts): Check {
  const id = "builder.remote-program";
  const title = "Remote program";
  const facts = probeFacts(f);
  if (!facts || !f.probe?.ok) return noProbe(b, id, title, f);
  const program = b.protocol === "ssh" ? "nix-store" : "nix-daemon";
  const onPath = b.protocol === "ssh" ? facts.onPath.nixStore : facts.onPath.nixDaemon;
  const found = facts.candidates.map((dir) => `${dir}/${program}`);
  const candidate = found.find(isPlainRemoteProgram) ?? null;
  const fixWith = (why: string): CheckFix | undefined =>
    candidate
      ? {
          description: `${why}: set remote-program=${candidate} on the entry${b.managed ? "" : ` (append ?remote-program=${candidate} to its store URI at ${b.file}:${b.line})`}`,
          ...(b.managed ? { auto: { kind: "remote-program" as const, builder: b.name, program: candidate } } : {}),
        }
      : found[0]
        ? {
            description: `${why}: the builder reports Nix at '${found[0]}', which cannot go into a store URI safely; pass the real path with --remote-program, or set remote-program by hand after checking it`,
          }
        : { description: `${why}: install Nix on the builder` };
  if (b.remoteProgram) {
    if (f.probe.remoteProgramExecutable !== false)
      return builderCheck(b, id, "ok", title, `remote-program=${b.remoteProgram} is executable on the builder`);
    return builderCheck(
      b,
      id,
      "fail",
      title,
      `remote-program=${b.remoteProgram} does not exist or is not executable on the builder`,
      fixWith("point it at the builder's Nix"),
    );
  }
  if (onPath)
    return builderCheck(b, id, "ok", title, `${program} is on ${facts.user}'s non-interactive PATH (${onPath})`);
  return builderCheck(
    b,
    id,
    "fail",
    title,
    `${program} is not on ${facts.user}'s non-interactive PATH${candidate ? ` (it is at ${candidate})` : " and no Nix was found on the builder"}: Nix runs it by name, so every connection fails with "${program}: command not found"`,
    fixWith(candidate ? "name it by its full path" : "Nix is missing"),
  );
}

export function loginShellCheck(b: FleetBuilder, f: BuilderFacts): Check {
  const id = "builder.login-shell";
  const title = "Login shell";
  const facts = probeFacts(f);
  if (!facts) return noProbe(b, id, title, f);
  const noise = facts.shellNoise.trim();
  if (!noise) return builderCheck(b, id, "ok", title, "prints nothing in non-interactive sessions");
  return builderCheck(
    b,
    id,
    "fail",
    title,
    `${facts.user}'s shell prints '${noise.slice(0, 80)}${noise.length > 80 ? "…" : ""}' before running any command: that corrupts Nix's protocol ("protocol mismatch")`,
    {
      description:
        "make the builder's shell start-up files (~/.bashrc, /etc/bash.bashrc, ~/.zshenv, …) silent for non-interactive sessions, e.g. wrap output in: case $- in *i*) …;; esac",
    },
  );
}

export function trustCheck(b: FleetBuilder, f: BuilderFacts): Check {
  const id = "builder.trust";
  const title = "Trusted by the builder";
  const facts = probeFacts(f);
  if (!facts) return noProbe(b, id, title, f);
  const how = {
    "store-info": "as its daemon reports",
    "trusted-users": `trusted-users = ${facts.trustedUsers.join(" ")}`,
    "single-user-store": "it owns the builder's store",
  };
  if (facts.trusted === true)
    return builderCheck(
      b,
      id,
      "ok",
      title,
      `${facts.user} is trusted (${facts.trustSource ? how[facts.trustSource] : "?"})`,
    );
  if (facts.trusted === null) {
    return builderCheck(
      b,
      id,
      "warn",
      title,
      `could not tell whether the builder's Nix trusts ${facts.user} (its Nix reports no trust before 2.15, and trusted-users was not readable)`,
    );
  }
  return builderCheck(
    b,
    id,
    "fail",
    title,
    `${facts.user} is not a trusted user of the builder's Nix daemon (trusted-users = ${facts.trustedUsers.join(" ") || "root"}): it refuses to build for this machine ("you are not privileged to build input-addressed derivations")`,
    {
      description: `on the builder, add it to trusted-users (trusted-users = root ${facts.user}) in /etc/nix/nix.conf — nix.custom.conf with Determinate Nix — and restart its nix-daemon`,
      command: `crossnix builder setup-remote ${destination(b, f)}`,
    },
  );
}

export function systemsCheck(b: FleetBuilder, f: BuilderFacts, ctx: BuilderContext): Check {
  const id = "builder.systems";
  const title = "Systems";
  const facts = probeFacts(f);
  if (!facts) return noProbe(b, id, title, f);
  if (facts.systems.length === 0)
    return builderCheck(b, id, "warn", title, "the builder did not report its systems (nix config show failed there)");
  const offered = facts.systems.join(", ");
  const columnFix = {
    description: `list the systems it builds in column 2 of ${b.file}:${b.line}: ${facts.systems.join(",")}`,
  };
  if (b.entry.systems.length === 0) {
    if (facts.systems.includes(ctx.localSystem)) {
      return builderCheck(
        b,
        id,
        "warn",
        title,
        `the entry has no systems column, so Nix assumes ${ctx.localSystem} (this machine's); the builder builds ${offered}`,
        columnFix,
      );
    }
    return builderCheck(
      b,
      id,
      "fail",
      title,
      `the entry has no systems column, so Nix sends it only ${ctx.localSystem} builds (this machine's system), which it cannot build; it builds ${offered}`,
      columnFix,
    );
  }
  const missing = b.entry.systems.filter((s) => !facts.systems.includes(s));
  if (missing.length) {
    return builderCheck(
      b,
      id,
      "fail",
      title,
      `the entry lists ${missing.join(", ")}, but the builder builds only ${offered}: those builds are sent there and fail`,
      {
        description: `remove ${missing.join(", ")} from column 2 of ${b.file}:${b.line}, or enable it on the builder (extra-platforms, with binfmt/QEMU on Linux)`,
      },
    );
  }
  const more = facts.systems.filter((s) => !b.entry.systems.includes(s));
  return builderCheck(
    b,
    id,
    "ok",
    title,
    `${b.entry.systems.join(", ")}: the builder builds ${more.length ? `these, and also ${more.join(", ")}` : "all of them"}`,
  );
}

export function featuresCheck(b: FleetBuilder, f: BuilderFacts): Check {
  const id = "builder.features";
  const title = "Features";
  const facts = probeFacts(f);
  if (!facts) return noProbe(b, id, title, f);
  const listed = [...new Set([...b.entry.supportedFeatures, ...b.entry.mandatoryFeatures])];
  const claimed = listed.filter((x) => !facts.features.includes(x));
  if (claimed.length) {
    return builderCheck(
      b,
      id,
      "fail",
      title,
      `the entry lists ${claimed.join(", ")}, which the builder lacks (it has ${facts.features.join(", ") || "none"}): builds needing them are sent there and fail`,
      {
        description: `remove ${claimed.join(", ")} from the features columns of ${b.file}:${b.line}`,
      },
    );
  }
  const unlisted = facts.features.filter((x) => !listed.includes(x));
  if (unlisted.length) {
    return builderCheck(
      b,
      id,
      "warn",
      title,
      `the builder has ${unlisted.join(", ")}, which the entry does not list, so Nix never sends it derivations that need them ("Failed to find a machine for remote build!")`,
      { description: `add ${unlisted.join(",")} to column 6 of ${b.file}:${b.line}` },
    );
  }
  return builderCheck(b, id, "ok", title, listed.length ? listed.join(", ") : "none on either side");
}

const GIB = 2 ** 30;

export function diskCheck(b: FleetBuilder, f: BuilderFacts): Check {
  const id = "builder.disk";
  const title = "Free disk";
  const facts = probeFacts(f);
  if (!facts) return noProbe(b, id, title, f);
  if (facts.freeBytes === null)
    return builderCheck(b, id, "warn", title, "could not read the free space of the builder's /nix");
  const free = `${formatBytes(facts.freeBytes)} free on the builder's /nix`;
  const fix = {
    description:
      "free space on the builder (e.g. nix-collect-garbage --delete-older-than 14d there), or give it a bigger disk",
  };
  if (facts.freeBytes < GIB)
    return builderCheck(
      b,
      id,
      "fail",
      title,
      `${free}: builds fail when the store fills ("disk I/O error", "No space left on device")`,
      fix,
    );
  if (facts.freeBytes < 5 * GIB) return builderCheck(b, id, "warn", title, `${free}: bigger builds may run out`, fix);
  return builderCheck(b, id, "ok", title, free);
}

export function nixVersionCheck(b: FleetBuilder, f: BuilderFacts, ctx: BuilderContext): Check {
  const id = "builder.nix-version";
  const title = "Nix versions";
  // A port in the store URI is passed to ssh as part of the host name before Nix 2.31 (docs/ssh.md#ports).
  if (b.authority.port !== null && ctx.localNixVersion && !atLeast(ctx.localNixVersion, "2.31")) {
    return builderCheck(
      b,
      id,
      "fail",
      title,
      `the store URI has a port (${b.authority.host}:${b.authority.port}), which Nix ${ctx.localNixVersion} (< 2.31) hands to ssh as part of the host name: "Could not resolve hostname ${b.authority.host}:${b.authority.port}"`,
      {
        description: "reach it through an ssh alias that sets Port: crossnix builder add writes one",
        command: `crossnix builder add ${b.authority.user ? `${b.authority.user}@` : ""}${b.authority.host}:${b.authority.port}`,
      },
    );
  }
  const facts = probeFacts(f);
  if (!facts) return noProbe(b, id, title, f);
  if (!facts.nixVersion) {
    return builderCheck(b, id, "fail", title, `no nix found for ${facts.user} on the builder`, {
      description: "install Nix on the builder",
    });
  }
  const remote = facts.determinateVersion
    ? `Determinate Nix ${facts.determinateVersion} (Nix ${facts.nixVersion})`
    : `Nix ${facts.nixVersion}`;
  const here = ctx.localNixVersion ? `, here Nix ${ctx.localNixVersion}` : "";
  const old = [facts.nixVersion, ctx.localNixVersion].some((v) => v !== null && !atLeast(v, "2.4"));
  if (b.protocol === "ssh-ng" && ctx.useSubstitutes && old) {
    return builderCheck(
      b,
      id,
      "warn",
      title,
      `builder ${remote}${here}: builders-use-substitutes over ssh-ng needs Nix ≥ 2.4 on both ends`,
      {
        description: "upgrade Nix on the older side, or use ssh:// for this builder",
      },
    );
  }
  return builderCheck(b, id, "ok", title, `builder ${remote}${here}`);
}

/** The checks of one builder, in the order a connection needs them. */
export function builderChecks(b: FleetBuilder, f: BuilderFacts, ctx: BuilderContext): Check[] {
  return [
    connectCheck(b, f),
    connectTimeoutCheck(b, f),
    hostKeyCheck(b, f),
    identityCheck(b, f, ctx),
    authCheck(b, f, ctx),
    remoteProgramCheck(b, f),
    loginShellCheck(b, f),
    trustCheck(b, f),
    systemsCheck(b, f, ctx),
    featuresCheck(b, f),
    diskCheck(b, f),
    nixVersionCheck(b, f, ctx),
  ];
}

/** Entries doctor cannot check over SSH (a local store, an HTTP cache, …). */
export function unsupportedBuilderCheck(b: FleetBuilder): Check {
  return skip(
    b,
    "builder.connect",
    "Connect",
    `${b.uri} is not an ssh:// or ssh-ng:// store; doctor checks only SSH builders`,
  );
}

export function disabledBuilderCheck(b: FleetBuilder): Check {
  return builderCheck(b, "builder.enabled", "skip", "Enabled", `disabled at ${b.file}:${b.line}; Nix does not use it`, {
    description: "enable it again",
    command: `crossnix builder enable ${b.name}`,
  });
}
