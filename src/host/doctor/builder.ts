// Gathers doctor's facts about a builder: `ssh -G`, the server's banner, identity file, login and probe.
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { connect } from "node:net";
import {
  type BuilderFacts,
  type ConnectFacts,
  destinationIsOption,
  type IdentityFacts,
  type ProbeResult,
  type SshView,
} from "../../core/doctor/builder.js";
import { classifySshFailure } from "../../core/diagnosis/ssh.js";
import { daemonSshTarget, type FleetBuilder } from "../../core/builders/fleet.js";
import { PROBE_SCRIPT, parseProbeOutput } from "../../core/builders/probe.js";
import { succeeded } from "../system/exec.js";
import type { Host } from "../system/host.js";
import { scanHostKeys, sshRun } from "../builders/ssh.js";

/** Below this, starting another network step cannot finish within --timeout. */
const MIN_STEP_MS = 300;

/** `ssh -G` prints the configuration ssh will use, after every Host/Match block and Include. */
export function parseSshG(stdout: string, home: string): SshView | null {
  const values = new Map<string, string[]>();
  for (const line of stdout.split("\n")) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    values.set(key, [...(values.get(key) ?? []), m[2]!]);
  }
  const one = (k: string) => values.get(k)?.[0] ?? null;
  const hostName = one("hostname");
  if (!hostName) return null;
  const none = (v: string | null) => (v === null || v === "none" ? null : v);
  const expand = (p: string) => p.replace(/^~(?=\/|$)/, home).replace(/%d/g, home);
  const proxyJump = none(one("proxyjump"));
  const proxyCommand = none(one("proxycommand"));
  const timeout = none(one("connecttimeout"));
  return {
    hostName,
    port: Number(one("port") ?? 22) || 22,
    user: one("user"),
    identityFiles: (values.get("identityfile") ?? []).map(expand),
    hostKeyAlias: none(one("hostkeyalias")),
    proxy: proxyJump ? `ProxyJump ${proxyJump}` : proxyCommand ? `ProxyCommand ${proxyCommand}` : null,
    connectTimeout: timeout === null ? null : Number(timeout) || null,
  };
}

async function sshView(host: Host, b: FleetBuilder): Promise<{ view: SshView | null; error: string | null }> {
  const argv = ["ssh", "-G"];
  if (b.authority.user) argv.push("-l", b.authority.user);
  if (b.authority.port) argv.push("-p", String(b.authority.port));
  argv.push("--", b.authority.host);
  const run = await host.exec(argv, { timeoutMs: 5000, env: host.env });
  if (!succeeded(run))
    return { view: null, error: run.spawnError ?? (run.stderr.trim().split("\n").at(-1) || `exit ${run.exitCode}`) };
  const view = parseSshG(run.stdout, host.homeDir);
  return view ? { view, error: null } : { view: null, error: "no hostname in its output" };
}

/** TCP connect, then the server's identification line ("SSH-2.0-…"), all within `ms`. */
export function connectAndReadBanner(hostName: string, port: number, ms: number): Promise<ConnectFacts> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let connected = false;
    let received = "";
    let settled = false;
    const socket = connect({ host: hostName, port });
    const finish = (facts: ConnectFacts) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(facts);
    };
    const timer = setTimeout(() => {
      finish(
        connected
          ? { ok: false, cause: "no-banner", message: "no SSH identification received", ms: elapsed() }
          : { ok: false, cause: "timeout", message: "TCP connect timed out", ms: elapsed() },
      );
    }, ms);
    socket.once("connect", () => {
      connected = true;
    });
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const lines = received.split(/\r?\n/);
      const banner = lines.slice(0, -1).find((l) => l.startsWith("SSH-"));
      if (banner) {
        finish({ ok: true, address: socket.remoteAddress ?? hostName, ms: elapsed(), banner: banner.trim() });
      } else if (received.length > 2048 || lines.length > 20) {
        finish({
          ok: false,
          cause: "not-ssh",
          message: received.slice(0, 60).replace(/\s+/g, " ").trim(),
          ms: elapsed(),
        });
      }
    });
    socket.once("error", (e: NodeJS.ErrnoException) => {
      const code = e.code ?? "";
      const cause: Extract<ConnectFacts, { ok: false }>["cause"] =
        code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME"
          ? "dns"
          : code === "ECONNREFUSED"
            ? "refused"
            : code === "ETIMEDOUT"
              ? "timeout"
              : code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EHOSTDOWN"
                ? "unreachable"
                : "other";
      finish({ ok: false, cause, message: code || e.message, ms: elapsed() });
    });
    socket.once("close", () => {
      finish({
        ok: false,
        cause: connected ? "no-banner" : "other",
        message: connected ? "connection closed before the SSH banner" : "connection closed",
        ms: elapsed(),
      });
    });
  });
}

async function keyscan(host: Host, view: SshView, ms: number): Promise<BuilderFacts["keyscan"]> {
  const { keys, result: run } = await scanHostKeys(
    host,
    view.hostName,
    view.port,
    Math.max(1, Math.floor(ms / 1000)),
    ms,
  );
  const error = keys.length
    ? null
    : run.timedOut
      ? "timed out"
      : (run.spawnError ??
        (run.stderr
          .split("\n")
          .filter((l) => l.trim() && !l.startsWith("#"))
          .at(-1)
          ?.trim() ||
          "no key offered"));
  return { keys, error };
}

async function identity(host: Host, path: string, source: IdentityFacts["source"]): Promise<IdentityFacts> {
  const real = host.path(path);
  const s = await stat(real).catch(() => null);
  const facts: IdentityFacts = {
    path,
    source,
    exists: s !== null,
    readable: false,
    mode: s?.mode ?? null,
    uid: s?.uid ?? null,
    passphrase: null,
    publicKeyExists: await host.exists(`${path}.pub`),
  };
  if (!s) return facts;
  facts.readable = await access(real, constants.R_OK).then(
    () => true,
    () => false,
  );
  if (!facts.readable) return facts;
  // With an empty passphrase given, ssh-keygen cannot open a protected key and never prompts.
  const run = await host.exec(["ssh-keygen", "-y", "-P", "", "-f", real], { timeoutMs: 5000 });
  if (succeeded(run)) facts.passphrase = false;
  else if (/passphrase/i.test(run.stderr)) facts.passphrase = true;
  return facts;
}

async function identities(host: Host, b: FleetBuilder, view: SshView | null): Promise<IdentityFacts[]> {
  if (b.entry.sshKey) return [await identity(host, b.entry.sshKey, "entry")];
  return Promise.all((view?.identityFiles ?? []).map((p) => identity(host, p, "ssh-config")));
}

const RP_MARK = "@@crossnix-doctor-remote-program=";

/** The probe script, plus whether an explicit remote-program is executable there ($1). */
const DOCTOR_SCRIPT = `${PROBE_SCRIPT}
if [ -n "$1" ]; then if [ -x "$1" ]; then echo '${RP_MARK}yes'; else echo '${RP_MARK}no'; fi; fi`;

async function probe(host: Host, b: FleetBuilder, ms: number): Promise<ProbeResult> {
  const t = daemonSshTarget(b);
  const target = { ...t, identity: t.identity ? host.path(t.identity) : null };
  const run = await sshRun(host, target, DOCTOR_SCRIPT, { timeoutSeconds: ms / 1000, args: [b.remoteProgram ?? ""] });
  const seconds = run.durationMs / 1000;
  const facts = run.exitCode === 0 && !run.timedOut ? parseProbeOutput(run.stdout) : null;
  if (facts) {
    const rp = run.stdout.includes(`${RP_MARK}yes`) ? true : run.stdout.includes(`${RP_MARK}no`) ? false : null;
    return { ok: true, facts, remoteProgramExecutable: rp, seconds };
  }
  const failure = classifySshFailure(run.stderr, {
    timedOut: run.timedOut,
    ...(run.spawnError ? { spawnError: run.spawnError } : {}),
    host: b.name,
  });
  if (failure.cause === "unknown" && run.exitCode !== 255) {
    failure.summary = `the probe script failed on the builder (exit ${run.exitCode})`;
    failure.fix = "run the command by hand with ssh -v to see why";
  }
  return { ok: false, failure, stderr: run.stderr, seconds };
}

/**
 * Everything about one builder, as the daemon connects (root's ssh config, the entry's key, the
 * pinned host key), within one deadline of `timeoutSeconds` for all network steps: TCP connect and
 * banner first, then the host-key scan and the login probe at once.
 */
export async function gatherBuilder(
  host: Host,
  b: FleetBuilder,
  options: { timeoutSeconds: number },
): Promise<BuilderFacts> {
  if (destinationIsOption(b)) {
    // Nix itself would hand it to ssh as an option (e.g. -oProxyCommand=…): run nothing for it.
    const why = "its destination starts with '-' (see builder.connect)";
    return {
      ssh: null,
      sshError: why,
      connect: null,
      keyscan: null,
      identities: [],
      probe: null,
      notRunReason: why,
      timeoutSeconds: options.timeoutSeconds,
    };
  }
  const deadline = performance.now() + options.timeoutSeconds * 1000;
  const left = () => Math.max(0, deadline - performance.now());
  const { view, error } = await sshView(host, b);
  const facts: BuilderFacts = {
    ssh: view,
    sshError: error,
    connect: null,
    keyscan: null,
    identities: [],
    probe: null,
    notRunReason: null,
    timeoutSeconds: options.timeoutSeconds,
  };
  const ids = identities(host, b, view);
  if (!view) {
    facts.identities = await ids;
    facts.notRunReason = "ssh's configuration could not be read (see builder.connect)";
    return facts;
  }
  if (!view.proxy) {
    facts.connect = await connectAndReadBanner(view.hostName, view.port, left());
    if (!facts.connect.ok) {
      facts.identities = await ids;
      facts.notRunReason = "no connection (see builder.connect)";
      return facts;
    }
  }
  facts.identities = await ids;
  const key = facts.identities.find((i) => i.source === "entry");
  if (key?.exists && !key.readable) {
    facts.notRunReason = `cannot read ${key.path} as uid ${host.uid}; run doctor as root`;
  }
  if (left() < MIN_STEP_MS) {
    facts.notRunReason = `no time left within --timeout ${options.timeoutSeconds}`;
    return facts;
  }
  const ms = left();
  const [scan, login] = await Promise.all([
    view.proxy ? Promise.resolve(null) : keyscan(host, view, ms),
    facts.notRunReason ? Promise.resolve(null) : probe(host, b, ms),
  ]);
  facts.keyscan = scan;
  facts.probe = login;
  return facts;
}
