// Decides, from a snapshot alone, which ways of getting Linux builds this machine has and whether each
// would build now (docs/approaches.md). Pure: host/approaches/snapshot.ts reads, this decides.
import { listEntries, type LocatedEntry, NEWEST_DIALECT, parseMachinesTolerant } from "../formats/machines/index.js";
import { findHostBlock, parseSshConfig } from "../formats/ssh-config.js";
import { type ApproachId, launchDaemonPlist, localUserRecord, VM_FOOTPRINTS, type VmFootprint } from "./footprints.js";
import { mergeByDestination, parseRemoteSystemsPairs, SWAPPED_COLUMNS, systemFirstLines } from "./manual.js";
import { decodeNative, type NativeStatus } from "./native.js";
import type { ApproachSnapshot, SnapshotFile } from "./snapshot.js";

/** works: proven by --probe; configured: every piece is there (not probed); off: present, turned off; broken: a piece is missing or failed. */
export type ApproachState = "works" | "configured" | "off" | "broken";
export type ManagedBy = "crossnix" | "nix-darwin" | "determinate-module" | "determinate" | "hand-written";

export interface Footprint {
  launchdLabel?: { label: string; present: boolean; loaded: boolean | null };
  sshAlias?: { file: string; alias: string; present: boolean; port: number | null };
  key?: { path: string; present: boolean };
  machinesLine?: { file: string; line: number } | null;
  workdir?: { path: string; present: boolean };
  user?: { name: string; uid: number; present: boolean };
}

export interface ApproachReport {
  id: ApproachId;
  /** `id` alone, or `id:name` for kinds with several instances (ssh, lima, manual). */
  label: string;
  title: string;
  state: ApproachState;
  managedBy: ManagedBy;
  systems: string[];
  footprint: Footprint;
  problems: string[];
  /** Where a probe connects (host:port) when it has an SSH endpoint. */
  endpoint: string | null;
}

export interface StatusReport {
  system: string;
  nix: ApproachSnapshot["nix"];
  native: NativeStatus;
  approaches: ApproachReport[];
  caches: { url: string }[];
  trustedPublicKeys: number;
  /** Per Linux system, the approaches that would build it now (works or configured). */
  bySystem: Record<string, string[]>;
  probed: boolean;
}

const LINUX_SYSTEMS = ["aarch64-linux", "x86_64-linux"];

interface MachinesView {
  file: string;
  entries: LocatedEntry[];
  /** The daemon reads this file through `builders`. */
  read: boolean;
}

export function detectApproaches(s: ApproachSnapshot): StatusReport {
  const machines = machinesView(s);
  const native = decodeNative(s.native);
  const claimed = new Set<LocatedEntry>();
  const approaches: ApproachReport[] = [];
  const nativeReport = nativeApproach(s, native);
  if (nativeReport) approaches.push(nativeReport);
  for (const fp of VM_FOOTPRINTS) {
    const report = vmApproach(s, fp, machines, claimed);
    if (report) approaches.push(report);
  }
  approaches.push(...limaApproaches(s, machines, claimed));
  approaches.push(...sshApproaches(s, machines, claimed));
  approaches.push(...manualApproaches(s));
  const emulation = emulationApproach(s);
  if (emulation) approaches.push(emulation);

  const bySystem: Record<string, string[]> = {};
  const systems = new Set([
    ...LINUX_SYSTEMS,
    ...approaches.flatMap((a) => a.systems.filter((x) => x.endsWith("-linux"))),
  ]);
  for (const system of systems) {
    bySystem[system] = approaches
      .filter((a) => (a.state === "works" || a.state === "configured") && a.systems.includes(system))
      .map((a) => a.label);
  }
  return {
    system: s.system,
    nix: s.nix,
    native,
    approaches,
    caches: s.substituters.map((url) => ({ url })),
    trustedPublicKeys: s.trustedPublicKeys.length,
    bySystem,
    probed: s.probe !== null,
  };
}

function machinesView(s: ApproachSnapshot): MachinesView {
  const parsed = parseMachinesTolerant(s.machines.text ?? "", s.machines.path, NEWEST_DIALECT);
  const builders = s.builders.value;
  const read = builders === null || builders.split(/\s+/).includes(`@${s.machines.path}`);
  return { file: s.machines.path, entries: listEntries(parsed.model), read };
}

/** The host a machines URI names: `ssh-ng://builder@linux-builder?x=y` → linux-builder. */
export function uriHost(uri: string): string {
  return uri
    .replace(/^[a-z-]+:\/\//, "")
    .replace(/\?.*$/, "")
    .replace(/^.*@/, "");
}

function state(problems: string[], probed: boolean, off = false): ApproachState {
  if (problems.length > 0) return "broken";
  if (off) return "off";
  return probed ? "works" : "configured";
}

function nativeApproach(s: ApproachSnapshot, n: NativeStatus): ApproachReport | null {
  if (!n.determinate) return null;
  const problems: string[] = [];
  const intent = n.config.state === "enabled";
  if (n.active === false && intent && n.reason) problems.push(`${n.reason.message} (fix: ${n.reason.fix})`);
  const st: ApproachState = n.active ? "works" : problems.length > 0 ? "broken" : intent ? "configured" : "off";
  return {
    id: "native",
    label: "native",
    title: "Determinate native Linux builder",
    state: st,
    managedBy: n.managedByModule ? "determinate-module" : "determinate",
    systems: n.active ? n.systems : [],
    footprint: {
      launchdLabel: {
        label: "systems.determinate.nix-daemon",
        present: s.launchDaemons.includes("systems.determinate.nix-daemon.plist"),
        loaded: s.probe?.launchd["systems.determinate.nix-daemon"]?.loaded ?? null,
      },
    },
    problems,
    endpoint: null,
  };
}

function aliasPort(file: SnapshotFile | undefined, alias: string): number | null {
  if (!file?.text) return null;
  const block = findHostBlock(parseSshConfig(file.text, file.path), alias);
  const port = block?.options.find((o) => o.key.toLowerCase() === "port")?.value;
  return port ? Number(port) : null;
}

function vmApproach(
  s: ApproachSnapshot,
  fp: VmFootprint,
  machines: MachinesView,
  claimed: Set<LocatedEntry>,
): ApproachReport | null {
  const plist = s.launchDaemons.includes(`${fp.label}.plist`);
  const sshFile = s.sshConfigFiles.find((f) => f.path === fp.sshConfigFile);
  const entry = machines.entries.find((e) => uriHost(e.entry.uri) === fp.alias);
  if (!plist && !sshFile && !entry) return null;
  if (entry) claimed.add(entry);
  const has = (p: string) => s.existing.includes(p);
  const loaded = s.probe ? (s.probe.launchd[fp.label]?.loaded ?? false) : null;
  const port = aliasPort(sshFile, fp.alias) ?? fp.port;
  const endpoint = `localhost:${port}`;
  const problems: string[] = [];
  if (!plist) problems.push(`launchd job ${fp.label} is not installed (${launchDaemonPlist(fp.label)} missing)`);
  else if (loaded === false) problems.push(`launchd job ${fp.label} is installed but not loaded`);
  if (!sshFile) problems.push(`no ssh alias ${fp.alias} (${fp.sshConfigFile} missing)`);
  if (!has(fp.key)) problems.push(`key ${fp.key} is missing`);
  if (!entry) {
    // nix.enable = false drops nix.buildMachines silently (docs/approaches.md#registration-lost).
    problems.push(
      s.nix.flavor === "determinate"
        ? `no machines line for ${fp.alias}: with Determinate (nix.enable = false) nix-darwin drops nix.buildMachines without a word; register it through determinateNix.buildMachines`
        : `no machines line for ${fp.alias} in ${machines.file}`,
    );
  } else if (entry.disabled) problems.push(`its machines line is disabled (${machines.file}:${entry.line})`);
  if (entry && !machines.read)
    problems.push(`builders (${s.builders.source ?? "default"}) does not read ${machines.file}`);
  if (fp.id === "linux-builder" && s.nix.flavor === "determinate" && plist)
    problems.push(
      "nix.linux-builder needs nix.enable, which Determinate turns off: this job is a leftover or will fail to build",
    );
  if (s.probe && s.probe.reachable[endpoint] === false) problems.push(`nothing answers on ${endpoint}`);
  return {
    id: fp.id,
    label: fp.id,
    title: fp.title,
    state: state(problems, s.probe !== null),
    managedBy: fp.id === "determinate-vm-builder" ? "determinate-module" : "nix-darwin",
    systems: entry?.entry.systems ?? [],
    footprint: {
      launchdLabel: { label: fp.label, present: plist, loaded },
      sshAlias: { file: fp.sshConfigFile, alias: fp.alias, present: sshFile !== undefined, port },
      key: { path: fp.key, present: has(fp.key) },
      machinesLine: entry ? { file: machines.file, line: entry.line } : null,
      workdir: { path: fp.workdir, present: has(fp.workdir) },
      ...(fp.user ? { user: { ...fp.user, present: has(localUserRecord(fp.user.name)) } } : {}),
    },
    problems,
    endpoint,
  };
}

function limaApproaches(s: ApproachSnapshot, machines: MachinesView, claimed: Set<LocatedEntry>): ApproachReport[] {
  return s.vmRecords.map((vm) => {
    const entry = machines.entries.find((e) => e.name === vm.builderName);
    if (entry) claimed.add(entry);
    const instance = s.limaInstances[vm.name] ?? { config: false, running: false };
    const endpoint = `127.0.0.1:${vm.sshPort}`;
    const problems: string[] = [];
    if (!instance.config)
      problems.push(`Lima instance ${vm.name} is gone (${vm.limaHome}/${vm.name}/lima.yaml missing)`);
    else if (!instance.running) problems.push(`Lima instance ${vm.name} is stopped (crossnix vm start ${vm.name})`);
    if (!entry) problems.push(`no machines line for builder ${vm.builderName}`);
    else if (entry.disabled) problems.push(`builder ${vm.builderName} is disabled`);
    if (entry && !machines.read) problems.push(`builders does not read ${machines.file}`);
    if (s.probe && s.probe.reachable[endpoint] === false) problems.push(`nothing answers on ${endpoint}`);
    return {
      id: "lima" as const,
      label: `lima:${vm.name}`,
      title: `Lima VM ${vm.name}`,
      state: state(problems, s.probe !== null),
      managedBy: "crossnix" as const,
      systems: entry?.entry.systems ?? vm.systems,
      footprint: {
        machinesLine: entry ? { file: machines.file, line: entry.line } : null,
        workdir: { path: `${vm.limaHome}/${vm.name}`, present: instance.config },
        sshAlias: {
          file: "/etc/ssh/ssh_config.d/crossnix.conf",
          alias: vm.builderName,
          present: true,
          port: vm.sshPort,
        },
      },
      problems,
      endpoint,
    };
  });
}

function sshApproaches(s: ApproachSnapshot, machines: MachinesView, claimed: Set<LocatedEntry>): ApproachReport[] {
  const aliases = s.sshConfigFiles.find((f) => f.path === "/etc/ssh/ssh_config.d/crossnix.conf");
  return machines.entries
    .filter((e) => !claimed.has(e) && /^ssh(-ng)?:\/\//.test(e.entry.uri))
    .map((e) => {
      const host = uriHost(e.entry.uri);
      const block =
        e.name && aliases?.text ? findHostBlock(parseSshConfig(aliases.text, aliases.path), e.name) : undefined;
      const option = (k: string) => block?.options.find((o) => o.key.toLowerCase() === k)?.value;
      const endpoint = `${option("hostname") ?? host}:${option("port") ?? "22"}`;
      const key = e.entry.sshKey;
      const problems: string[] = [];
      if (key && !s.existing.includes(key)) problems.push(`key ${key} is missing`);
      if (!machines.read) problems.push(`builders (${s.builders.source ?? "default"}) does not read ${machines.file}`);
      if (s.probe && s.probe.reachable[endpoint] === false) problems.push(`nothing answers on ${endpoint}`);
      const name = e.name ?? host;
      return {
        id: "ssh" as const,
        label: `ssh:${name}`,
        title: `SSH builder ${name}`,
        state: state(problems, s.probe !== null, e.disabled),
        managedBy: e.name ? ("crossnix" as const) : ("hand-written" as const),
        systems: e.entry.systems,
        footprint: {
          machinesLine: { file: machines.file, line: e.line },
          ...(key ? { key: { path: key, present: s.existing.includes(key) } } : {}),
          ...(block
            ? { sshAlias: { file: aliases!.path, alias: e.name!, present: true, port: Number(option("port") ?? 22) } }
            : {}),
        },
        problems,
        endpoint,
      };
    });
}

function manualApproaches(s: ApproachSnapshot): ApproachReport[] {
  const found = mergeByDestination([
    ...(s.env.NIX_REMOTE_SYSTEMS ? parseRemoteSystemsPairs(s.env.NIX_REMOTE_SYSTEMS) : []),
    ...(s.userMachines.text ? systemFirstLines(s.userMachines.text, s.userMachines.path) : []),
    ...(s.machines.text ? systemFirstLines(s.machines.text, s.machines.path) : []),
  ]);
  return found.map((b) => {
    const problems = b.sources.map((src) =>
      "variable" in src
        ? `NIX_REMOTE_SYSTEMS=${src.value} names machines files, not system=host pairs: Nix reads no builder from it`
        : src.file === s.machines.path
          ? `${src.file}:${src.line}: ${SWAPPED_COLUMNS}; Nix rejects the whole file`
          : `${src.file}:${src.line}: ${SWAPPED_COLUMNS}; and Nix never reads this file unless builders names it`,
    );
    for (const p of s.profileLines) problems.push(`${p.file}:${p.line} sets NIX_REMOTE_SYSTEMS`);
    return {
      id: "manual" as const,
      label: `manual:${b.destination}`,
      title: `Hand-made setup for ${b.destination} (from a guide)`,
      state: "broken" as const,
      managedBy: "hand-written" as const,
      systems: b.systems,
      footprint: {},
      problems: [...new Set(problems)],
      endpoint: null,
    };
  });
}

function emulationApproach(s: ApproachSnapshot): ApproachReport | null {
  const linux = s.extraPlatforms.filter((p) => p.endsWith("-linux"));
  if (linux.length === 0) return null;
  const problems: string[] = [];
  if (s.platform === "darwin") {
    problems.push(
      `extra-platforms lists ${linux.join(", ")}, but macOS has no binfmt_misc: no Linux binary can run here`,
    );
  } else {
    for (const system of linux) {
      const cpu = system.slice(0, system.indexOf("-"));
      if (!s.binfmt.some((b) => b.includes(cpu) || (cpu === "x86_64" && b.includes("x86-64"))))
        problems.push(`no binfmt_misc handler for ${cpu} (/proc/sys/fs/binfmt_misc)`);
    }
  }
  return {
    id: "emulation",
    label: "emulation",
    title: "QEMU user emulation",
    state: problems.length > 0 ? "broken" : "configured",
    managedBy: "hand-written",
    systems: linux,
    footprint: {},
    problems,
    endpoint: null,
  };
}

/** Where --probe connects: every approach's SSH endpoint, as `host:port`. */
export function probeEndpoints(report: StatusReport): string[] {
  return [...new Set(report.approaches.flatMap((a) => (a.endpoint ? [a.endpoint] : [])))];
}
