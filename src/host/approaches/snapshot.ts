// Reads what status needs about this machine into an ApproachSnapshot: files only, plus
// `nix config show external-builders` on Determinate; with --probe also launchd, determinate-nixd
// and a TCP connection to each builder (core/approaches/detect.ts decides from it).
import { connect } from "node:net";
import path from "node:path";
import { detectApproaches, probeEndpoints } from "../../core/approaches/detect.js";
import { localUserRecord, NATIVE, VM_FOOTPRINTS } from "../../core/approaches/footprints.js";
import { SHELL_PROFILES, setsRemoteSystems } from "../../core/approaches/manual.js";
import type { NativeFacts } from "../../core/approaches/native.js";
import type { ApproachSnapshot, SnapshotFile } from "../../core/approaches/snapshot.js";
import { listEntries, NEWEST_DIALECT, parseMachinesTolerant } from "../../core/formats/machines/index.js";
import { effectiveSetting } from "../../core/nix/settings.js";
import { isVmRecord, VM_RECORDS_DIR, type VmRecord } from "../../core/vm/record.js";
import { loadConfigLayers } from "../nix/config-layers.js";
import { detectHost } from "../nix/detect.js";
import { succeeded } from "../system/exec.js";
import type { Host } from "../system/host.js";
import { SYSTEM_PATHS } from "../system/paths.js";

export interface SnapshotOptions {
  /** Ask launchd and determinate-nixd, and connect to each builder (opt-in: it can take seconds). */
  probe: boolean;
  /** Ask determinate-nixd even without probe (`native status` does). */
  askNixd?: boolean;
  timeoutSeconds: number;
}

async function file(host: Host, p: string): Promise<SnapshotFile> {
  const [text, link] = await Promise.all([host.readText(p).catch(() => null), host.linkTarget(p)]);
  return { path: p, text, link };
}

/** Reads every fact status decides from; with `probe`, asks launchd and connects to each builder. */
export async function readSnapshot(host: Host, options: SnapshotOptions): Promise<ApproachSnapshot> {
  const info = await detectHost(host);
  const home = host.homeDir;
  const layers = await loadConfigLayers(host, { user: false });
  const list = (name: string) => (effectiveSetting(name, layers).value ?? "").split(/\s+/).filter((v) => v !== "");
  const sshDir = SYSTEM_PATHS.sshConfigDir;
  const [machines, userMachines, sshNames, launchDaemons, launchAgents, vmRecords] = await Promise.all([
    file(host, SYSTEM_PATHS.machines),
    file(host, path.posix.join(home, ".config/nix/machines")),
    host.list(sshDir),
    host.list(SYSTEM_PATHS.launchDaemonsDir),
    host.list(path.posix.join(home, "Library/LaunchAgents")),
    readVmRecords(host),
  ]);
  const sshConfigFiles = await Promise.all(sshNames.sort().map((n) => file(host, path.posix.join(sshDir, n))));
  const keys = listEntries(parseMachinesTolerant(machines.text ?? "", machines.path, NEWEST_DIALECT).model)
    .map((e) => e.entry.sshKey)
    .filter((k): k is string => k?.startsWith("/") === true);
  const candidates = [
    ...VM_FOOTPRINTS.flatMap((f) => [f.key, f.workdir, ...(f.user ? [localUserRecord(f.user.name)] : [])]),
    ...keys,
  ];
  const existing = (
    await Promise.all([...new Set(candidates)].map(async (p) => ((await host.exists(p)) ? p : null)))
  ).filter((p): p is string => p !== null);
  const limaInstances: ApproachSnapshot["limaInstances"] = {};
  for (const vm of vmRecords) {
    const dir = path.posix.join(vm.limaHome, vm.name);
    limaInstances[vm.name] = {
      config: await host.exists(path.posix.join(dir, "lima.yaml")),
      running: await host.exists(path.posix.join(dir, "ha.pid")),
    };
  }
  const determinate = info.flavor === "determinate";
  const native = await readNativeFacts(host, info.nix.version, determinate, options.probe || options.askNixd === true);
  const remoteSystems = host.env["NIX_REMOTE_SYSTEMS"];
  const snapshot: ApproachSnapshot = {
    platform: host.platform,
    system: info.system,
    nix: {
      flavor: info.flavor,
      version: info.nix.version?.nix ?? null,
      determinate: info.nix.version?.determinate ?? null,
      raw: info.nix.raw,
    },
    native,
    launchDaemons: launchDaemons.filter((n) => n.endsWith(".plist")).sort(),
    launchAgents: launchAgents.filter((n) => n.endsWith(".plist")).sort(),
    sshConfigFiles,
    machines,
    userMachines,
    builders: (() => {
      const b = effectiveSetting("builders", layers);
      return { value: b.value, source: b.source };
    })(),
    extraPlatforms: list("extra-platforms"),
    substituters: list("substituters"),
    trustedPublicKeys: list("trusted-public-keys"),
    existing: existing.sort(),
    vmRecords,
    limaInstances,
    binfmt: (await host.list("/proc/sys/fs/binfmt_misc")).filter((n) => n !== "register" && n !== "status").sort(),
    env: remoteSystems !== undefined ? { NIX_REMOTE_SYSTEMS: remoteSystems } : {},
    profileLines: await profileLines(host),
    probe: null,
  };
  if (!options.probe) return snapshot;
  const endpoints = probeEndpoints(detectApproaches(snapshot));
  const launchd: NonNullable<ApproachSnapshot["probe"]>["launchd"] = {};
  const labels = [NATIVE.daemonLabel, ...VM_FOOTPRINTS.map((f) => f.label)];
  await Promise.all(labels.map(async (label) => (launchd[label] = await launchdJob(host, label))));
  const reachable: Record<string, boolean> = {};
  await Promise.all(endpoints.map(async (e) => (reachable[e] = await tcpAnswers(e, options.timeoutSeconds * 1000))));
  return { ...snapshot, probe: { launchd, reachable } };
}

async function readVmRecords(host: Host): Promise<VmRecord[]> {
  const names = (await host.list(VM_RECORDS_DIR)).filter((n) => n.endsWith(".json")).sort();
  const records: VmRecord[] = [];
  for (const n of names) {
    try {
      const value = JSON.parse((await host.readText(path.posix.join(VM_RECORDS_DIR, n))) ?? "null") as unknown;
      if (isVmRecord(value)) records.push(value);
    } catch {
      // A record that does not parse is not one of ours to report on.
    }
  }
  return records;
}

async function profileLines(host: Host): Promise<ApproachSnapshot["profileLines"]> {
  const out: ApproachSnapshot["profileLines"] = [];
  for (const name of SHELL_PROFILES) {
    const p = path.posix.join(host.homeDir, name);
    const text = await host.readText(p).catch(() => null);
    text?.split("\n").forEach((line, i) => {
      if (setsRemoteSystems(line)) out.push({ file: p, line: i + 1, text: line.trim() });
    });
  }
  return out;
}

/** Reads Determinate's native builder facts; `askNixd` also runs `determinate-nixd status` and `version`. */
export async function readNativeFacts(
  host: Host,
  version: { nix: string; determinate: string | null } | null,
  determinate: boolean,
  askNixd: boolean,
): Promise<NativeFacts> {
  const config = await file(host, NATIVE.configFile);
  const nixdPresent = await host.exists(NATIVE.nixdProgram);
  const facts: NativeFacts = {
    determinateVersion: version?.determinate ?? null,
    nixVersion: version?.nix ?? null,
    nixdPresent,
    config: { text: config.text, link: config.link },
    externalBuilders: null,
    nixdStatus: null,
    nixdVersion: null,
  };
  if (!determinate) return facts;
  facts.externalBuilders = await externalBuilders(host);
  if (askNixd && nixdPresent) {
    const run = async (verb: string) => {
      const r = await host.exec(["determinate-nixd", verb], { env: host.env, timeoutMs: 15_000 });
      return `${r.stdout}${r.stderr}`;
    };
    [facts.nixdStatus, facts.nixdVersion] = await Promise.all([run("status"), run("version")]);
  }
  return facts;
}

/** `nix config show external-builders`: what Nix really uses (docs/determinate-native.md#detect). */
export async function externalBuilders(host: Host): Promise<{ ok: boolean; output: string }> {
  const r = await host.exec(
    ["nix", "--extra-experimental-features", "nix-command", "config", "show", "external-builders"],
    {
      env: host.env,
      timeoutMs: 15_000,
    },
  );
  return succeeded(r) ? { ok: true, output: r.stdout } : { ok: false, output: `${r.stderr}${r.stdout}` };
}

/** `launchctl list <label>` exits 0 with the job's dictionary when loaded ("PID" = n while running). */
async function launchdJob(host: Host, label: string): Promise<{ loaded: boolean; pid: number | null }> {
  const r = await host.exec(["launchctl", "list", label], { env: host.env, timeoutMs: 10_000 });
  if (!succeeded(r)) return { loaded: false, pid: null };
  const pid = /"PID"\s*=\s*(\d+)/.exec(r.stdout)?.[1];
  return { loaded: true, pid: pid ? Number(pid) : null };
}

/** Whether anything accepts a TCP connection at `host:port` within the timeout. */
export function tcpAnswers(endpoint: string, timeoutMs: number): Promise<boolean> {
  const colon = endpoint.lastIndexOf(":");
  const hostName = endpoint.slice(0, colon);
  const port = Number(endpoint.slice(colon + 1));
  return new Promise((resolve) => {
    const socket = connect({ host: hostName === "localhost" ? "127.0.0.1" : hostName, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
