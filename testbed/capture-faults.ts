// Capture what Nix prints for each builder fault and misconfiguration:
//
//   npx tsx testbed/capture-faults.ts [--protocol ssh-ng|ssh|both] [--only id,…] > out.md
//
// Prints Markdown (the source of the error catalogue in README.md). For each scenario and
// protocol: a fresh nonce; builder b2 (aarch64-linux + x86_64-linux) reached through the ssh
// alias cx-b2 (HostKeyAlias, port 2202) with its host key pinned in machines column 8;
// max-jobs = 0; nix-build as the client user through the local root daemon. What the client
// saw and what the daemon wrote to its own stderr (where ssh's stderr goes for ssh-ng) are
// both recorded. A fault is then switched off and the build must succeed again.
import * as fs from "node:fs";
import * as path from "node:path";
import { type Builder, type Fault, startBuilders } from "./builder.js";
import { clientIdentity } from "./identity.js";
import { BUSYBOX_DIR, buildProbe, NIX_DIR, newNonce, type ProbeSystem } from "./probe.js";
import type { ExecResult } from "./proc.js";
import { stopAll } from "./run.js";
import { createSandbox, DEFAULT_DAEMON_ENV, type Sandbox } from "./sandbox.js";

const KEY = "/etc/nix/crossnix/testbed_ed25519";

interface Ctx {
  sb: Sandbox;
  b1: Builder;
  b2: Builder;
  protocol: "ssh-ng" | "ssh";
  /** b2's host key as pinned at the start. */
  pinned: string;
}

interface Scenario {
  id: string;
  title: string;
  fault?: Fault;
  system?: ProbeSystem;
  /** Suffix for the store URI; PROGRAM becomes nix-daemon / nix-store. */
  uriSuffix?: string;
  /** Replace the machines file. */
  machines?: (c: Ctx) => string;
  aliasExtra?: string[];
  hostKeyAlias?: boolean;
  timeoutMs?: number;
  /** Build this expression (nix-build -E) instead of the probe file. */
  expr?: (nonce: string) => string;
  setup?: (c: Ctx) => Promise<void>;
  teardown?: (c: Ctx) => Promise<void>;
}

const line = (uri: string, b: Builder, systems: readonly string[], key: string) =>
  `${uri} ${systems.join(",")} - 2 1 ${b.features.join(",")} - ${key}\n`;

function scenarios(): Scenario[] {
  return [
    { id: "baseline", title: "no fault" },
    { id: "stopped", title: "sshd not running (connection refused)", fault: "stopped" },
    {
      id: "hung",
      title: "sshd SIGSTOPped, no ConnectTimeout (nix-build killed after 8 s)",
      fault: "hung",
      timeoutMs: 8000,
    },
    {
      id: "hung-timeout",
      title: "sshd SIGSTOPped, alias has ConnectTimeout 3",
      fault: "hung",
      aliasExtra: ["ConnectTimeout 3"],
      timeoutMs: 20_000,
    },
    { id: "hostKeyChanged", title: "builder has a new host key (old one pinned)", fault: "hostKeyChanged" },
    {
      id: "hostKeyUnknown",
      title: "host key not pinned (column 8 '-') and not in root's known_hosts",
      machines: (c) => line(`${c.protocol}://cx-b2`, c.b2, c.b2.systems, "-"),
    },
    { id: "keyMissing", title: "client key not in authorized_keys", fault: "keyMissing" },
    {
      id: "untrusted",
      title: "SSH user not trusted by the builder's daemon",
      fault: "untrusted",
      system: "x86_64-linux",
    },
    {
      id: "untrusted-input",
      title:
        "untrusted + an input-addressed input the builder lacks (dep built on trusted b1, main build on untrusted b2)",
      fault: "untrusted",
      machines: (c) =>
        line(`${c.protocol}://cx-b1`, c.b1, ["x86_64-linux"], c.b1.hostKeyBase64) +
        line(`${c.protocol}://cx-b2`, c.b2, ["aarch64-linux"], c.pinned),
      expr: (nonce) =>
        `let dep = import ${path.join(NIX_DIR, "x86_64-linux.nix")} { nonce = "${nonce}-dep"; name = "crossnix-dep"; }; ` +
        `in import ${path.join(NIX_DIR, "aarch64-linux.nix")} { nonce = "${nonce}"; busybox = ${BUSYBOX_DIR}; inputs = [ dep ]; }`,
    },
    { id: "remoteProgramNotOnPath", title: "nix-* not on the session PATH", fault: "remoteProgramNotOnPath" },
    {
      id: "remoteProgramNotOnPath-fixed",
      title: "remoteProgramNotOnPath, fixed with ?remote-program=/nix/var/nix/profiles/default/bin/…",
      fault: "remoteProgramNotOnPath",
      uriSuffix: "?remote-program=/nix/var/nix/profiles/default/bin/PROGRAM",
    },
    { id: "noisyShell", title: "login shell prints to stdout", fault: "noisyShell" },
    { id: "diskFull", title: "builder's /nix is full", fault: "diskFull" },
    {
      id: "noHostKeyAlias",
      title: "alias with Port 2202 but no HostKeyAlias, key pinned",
      hostKeyAlias: false,
    },
    {
      id: "portInUri",
      title: "port in the store URI (no alias): user@127.0.0.3:2202",
      machines: (c) => line(`${c.protocol}://${c.b2.user}@${c.b2.address}:${c.b2.port}`, c.b2, c.b2.systems, c.pinned),
    },
    {
      id: "systemMissing",
      title: "machines entry lacks aarch64-linux (only x86_64-linux)",
      machines: (c) => line(`${c.protocol}://cx-b2`, c.b2, ["x86_64-linux"], c.pinned),
    },
    {
      id: "featureMissing",
      title: "derivation requires feature kvm, machine lists none",
      expr: (nonce) =>
        `import ${path.join(NIX_DIR, "aarch64-linux.nix")} { nonce = "${nonce}"; busybox = ${BUSYBOX_DIR}; features = [ "kvm" ]; }`,
    },
    {
      id: "noMachines",
      title: "empty machines file (max-jobs = 0)",
      machines: () => "",
    },
    {
      id: "noSshOnDaemonPath",
      title: "ssh not on the daemon's PATH",
      setup: (c) => c.sb.restartDaemon({ ...DEFAULT_DAEMON_ENV, PATH: "/usr/local/bin" }),
      teardown: (c) => c.sb.restartDaemon(DEFAULT_DAEMON_ENV),
    },
  ];
}

function aliases(c: Ctx, s: Scenario): string {
  const block = (name: string, b: Builder) =>
    [
      `Host ${name}`,
      `  HostName ${b.address}`,
      `  Port ${b.port}`,
      `  User ${b.user}`,
      `  IdentityFile ${KEY}`,
      "  IdentitiesOnly yes",
      ...(s.hostKeyAlias === false ? [] : [`  HostKeyAlias ${name}`]),
      ...(s.aliasExtra ?? []).map((l) => `  ${l}`),
      "",
    ].join("\n");
  return block("cx-b1", c.b1) + block("cx-b2", c.b2);
}

async function build(c: Ctx, s: Scenario, timeoutMs: number): Promise<ExecResult> {
  if (s.expr) {
    return c.sb.runAsClient(["nix-build", "-E", s.expr(newNonce()), "--no-out-link"], { timeoutMs });
  }
  return (await buildProbe(c.sb, s.system ?? "aarch64-linux", { timeoutMs })).result;
}

async function runScenario(c: Ctx, s: Scenario) {
  const program = c.protocol === "ssh-ng" ? "nix-daemon" : "nix-store";
  const uri = `${c.protocol}://cx-b2${(s.uriSuffix ?? "").replace("PROGRAM", program)}`;
  c.sb.writeFile("/etc/ssh/ssh_config.d/crossnix.conf", aliases(c, s));
  const machines = s.machines ? s.machines(c) : line(uri, c.b2, c.b2.systems, c.pinned);
  c.sb.writeFile("/etc/nix/machines", machines);
  await s.setup?.(c);
  if (s.fault) await c.b2.setFault(s.fault, true);
  const mark = c.sb.daemonLogSize();
  const r = await build(c, s, s.timeoutMs ?? 60_000);
  const daemonLog = c.sb.readDaemonLog(mark);
  let undone = "";
  if (s.fault) {
    await c.b2.setFault(s.fault, false);
    // A hung build may still hold the machine's slot; restart the daemon for a clean check.
    await c.sb.restartDaemon();
    const again = await build(c, s, 60_000);
    undone = again.exitCode === 0 ? "fault undone: builds again" : `fault undone: STILL FAILING\n${again.stderr}`;
  }
  await s.teardown?.(c);
  const status = r.timedOut ? `still running after ${s.timeoutMs} ms, killed` : `exit ${r.exitCode}`;
  return { machines, status, stderr: r.stderr, daemonLog, undone, ms: r.durationMs };
}

function redact(text: string): string {
  return (
    text
      .replace(/\r\n/g, "\n")
      .replace(/\/nix\/store\/[0-9a-z]{32}-/g, "/nix/store/…-")
      .replace(/\b[0-9a-z]{32}-crossnix-/g, "…-crossnix-")
      .replace(/\/tmp\/crossnix-testbed\/run-[^/\s]+/g, "<run>")
      .replace(/\/tmp\/nix-\d+-\d+/g, "/tmp/nix-<pid>-0")
      .replace(/pid \d+/g, "pid <n>")
      .replace(/SHA256:[A-Za-z0-9+/]{43}/g, "SHA256:<fingerprint>")
      .replace(/ [A-Za-z0-9+/=]{60,}\n/g, " <base64 host key>\n")
      .replace(/\x1b\[[0-9;]*m/g, "")
      // Protocol garbage after a noisy shell's greeting: show control bytes visibly.
      .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`)
      .replace(/\ufffd/g, "\\uFFFD")
      // Our own readiness probes of the daemon socket.
      .replace(/^unexpected Nix daemon error: error: unexpected end-of-file\n/gm, "")
  );
}

async function main() {
  const args = process.argv.slice(2);
  const proto = args.includes("--protocol") ? args[args.indexOf("--protocol") + 1] : "both";
  const only = args.includes("--only") ? args[args.indexOf("--only") + 1]!.split(",") : undefined;
  const protocols = (proto === "both" ? ["ssh-ng", "ssh"] : [proto!]) as Array<"ssh-ng" | "ssh">;

  const [b1, b2] = (await startBuilders([
    { systems: ["x86_64-linux"] },
    { systems: ["x86_64-linux", "aarch64-linux"], diskSizeMb: 64 },
  ])) as [Builder, Builder];
  const id = await clientIdentity();
  const sb = await createSandbox({
    nixConf: "builders = @/etc/nix/machines\nbuilders-use-substitutes = true\nmax-jobs = 0\n",
  });
  sb.writeFile(KEY, fs.readFileSync(id.privateKeyPath, "utf8"), 0o600);

  const nixVersion = (await sb.run(["nix-build", "--version"])).stdout.trim();
  const sshVersion = (await sb.run(["ssh", "-V"])).stderr.trim();
  const out: string[] = [
    "# Nix remote-build errors, as captured by the test bed\n",
    `Generated by \`npx tsx testbed/capture-faults.ts\` with ${nixVersion}, ${sshVersion}.`,
    "Client: `nix-build` as a non-root user through the local root nix-daemon (which runs the",
    "build hook and ssh); `max-jobs = 0`; `builders = @/etc/nix/machines`; builder b2 reached",
    "through the ssh alias `cx-b2` (HostName 127.0.0.3, Port 2202, HostKeyAlias cx-b2) unless",
    "the machines line says otherwise. Store hashes, PIDs, fingerprints and run paths are",
    'redacted; control bytes are shown as \\xNN, undecodable bytes as \\uFFFD. "Failed to find a machine" blocks are kept',
    "verbatim. See README.md for the condensed catalogue.\n",
  ];
  for (const protocol of protocols) {
    const c: Ctx = { sb, b1, b2, protocol, pinned: b2.hostKeyBase64 };
    for (const s of scenarios()) {
      if (only && !only.includes(s.id)) continue;
      const t = await runScenario(c, s);
      out.push(`#### ${protocol} — ${s.title} (\`${s.id}\`)\n`);
      out.push(`${t.status} in ${t.ms} ms${t.undone ? `; ${t.undone}` : ""}. machines:\n`);
      out.push("```\n" + redact(t.machines).trimEnd() + "\n```\n");
      out.push("nix-build stderr:\n```\n" + redact(t.stderr).trimEnd() + "\n```\n");
      const dl = redact(t.daemonLog).trim();
      if (dl) out.push("local nix-daemon stderr:\n```\n" + dl + "\n```\n");
      process.stderr.write(`done: ${protocol} ${s.id}\n`);
    }
  }
  console.log(out.join("\n"));
  await stopAll();
}

main().catch(async (e) => {
  console.error(e);
  await stopAll().catch(() => {});
  process.exit(1);
});
