// Gathers doctor's facts about this machine: Nix, its configuration layers, machines files, the user.
import { stat } from "node:fs/promises";
import { quoteCommand } from "../../core/shell.js";
import os from "node:os";
import path from "node:path";
import {
  buildersItems,
  buildersView,
  type ConfigFacts,
  type MachinesFacts,
  machinesFilesToRead,
} from "../../core/doctor/config.js";
import type { LocalFacts } from "../../core/doctor/local.js";
import { systemFirstLines } from "../../core/approaches/manual.js";
import { parseMachinesTolerant, type TolerantMachines } from "../../core/doctor/machines.js";
import { type FleetBuilder, fleetFromMachines } from "../../core/builders/fleet.js";
import {
  listEntries,
  machinesDialect,
  type MachinesRead,
  readMachinesTree,
} from "../../core/formats/machines/index.js";
import { type NixConf, parseNixConf } from "../../core/formats/nix-conf.js";
import type { PlanCommand } from "../../core/plan/plan.js";
import { type ConfigLayer, systemConfigFile } from "../../core/nix/settings.js";
import { isCrossnixError } from "../../errors.js";
import { detectHost, type HostInfo } from "../nix/detect.js";
import { succeeded } from "../system/exec.js";
import type { Host } from "../system/host.js";
import { loadConfigLayers } from "../nix/config-layers.js";
import { gatherDaemon } from "./daemon.js";

export interface LocalGather {
  info: HostInfo;
  local: LocalFacts;
  config: ConfigFacts;
  /** The file crossnix writes settings to, parsed (for --fix). */
  settings: { path: string; text: string | null; model: NixConf };
  /** Every machines file read, by path. */
  machines: Map<string, { text: string | null; parsed: TolerantMachines | null }>;
  /** Entries of every machines file read, and inline entries of `builders`. */
  fleet: FleetBuilder[];
  daemonReload: PlanCommand | null;
}

function message(error: unknown): string {
  if (isCrossnixError(error)) return error.hint ? `${error.message} (${error.hint})` : error.message;
  return error instanceof Error ? error.message : String(error);
}

/** The person doctor speaks for: under sudo, the user who ran sudo (their ~/.config is what matters). */
async function invokingUser(host: Host): Promise<{ name: string; home: string; groups: string[]; viaSudo: boolean }> {
  const sudoUser = host.env["SUDO_USER"];
  const viaSudo = host.uid === 0 && sudoUser !== undefined && sudoUser !== "" && sudoUser !== "root";
  const name = viaSudo ? sudoUser! : (host.env["USER"] ?? os.userInfo().username);
  let home = host.homeDir;
  if (viaSudo) {
    const lookup =
      host.platform === "darwin"
        ? await host.exec(["dscl", ".", "-read", `/Users/${name}`, "NFSHomeDirectory"], { timeoutMs: 5000 })
        : await host.exec(["getent", "passwd", "--", name], { timeoutMs: 5000 });
    const found =
      host.platform === "darwin" ? /NFSHomeDirectory:\s*(\S+)/.exec(lookup.stdout)?.[1] : lookup.stdout.split(":")[5];
    home = succeeded(lookup) && found ? found.trim() : host.platform === "darwin" ? `/Users/${name}` : `/home/${name}`;
  }
  const id = await host.exec(["id", "-Gn", "--", name], { timeoutMs: 5000 });
  const groups = succeeded(id) ? id.stdout.trim().split(/\s+/) : [];
  return { name, home, groups, viaSudo };
}

/**
 * The system layers as the daemon reads them. A missing include or a cycle makes Nix itself fail;
 * doctor reports it and goes on with the top-level file alone.
 */
async function systemLayers(host: Host, errors: string[]): Promise<ConfigLayer[]> {
  try {
    return await loadConfigLayers(host, { user: false });
  } catch (error) {
    errors.push(message(error));
    const file = systemConfigFile(host.env);
    const text = await host.readText(file).catch(() => null);
    return [{ source: file, kind: "system-file", conf: text === null ? null : parseNixConf(text, file) }];
  }
}

/** The user's files and NIX_CONFIG, for the invoking user's home. */
async function clientLayers(host: Host, home: string, errors: string[]): Promise<ConfigLayer[]> {
  // loadConfigLayers always starts with the system file; pointing NIX_CONF_DIR at a directory
  // that does not exist leaves only the user layers (their includes are resolved as Nix does).
  const env = { ...host.env, NIX_CONF_DIR: "/nonexistent/crossnix-doctor" };
  const userHost: Host = { ...host, env, homeDir: home };
  try {
    return (await loadConfigLayers(userHost)).filter((l) => l.kind !== "system-file");
  } catch (error) {
    errors.push(message(error));
    return [];
  }
}

async function mtimes(host: Host, layers: ConfigLayer[]): Promise<{ path: string; mtimeMs: number }[]> {
  const out: { path: string; mtimeMs: number }[] = [];
  for (const layer of layers) {
    if (!layer.conf) continue;
    const s = await stat(host.path(layer.source)).catch(() => null);
    if (s) out.push({ path: layer.source, mtimeMs: s.mtimeMs });
  }
  return out;
}

/** One machines path as Nix would read it: missing is "not found", anything else thrown is a read error. */
async function readMachinesPath(host: Host, file: string): Promise<MachinesRead & { text?: string }> {
  try {
    const text = await host.readText(file);
    return text === null ? { kind: "missing" } : { kind: "text", text };
  } catch (error) {
    return { kind: "error", message: message(error) };
  }
}

/** `reload` says how the daemon is restarted on this host (the command layer knows: builder/shared.ts). */
export async function gatherLocal(
  host: Host,
  reload: (info: HostInfo) => Promise<PlanCommand | null>,
): Promise<LocalGather> {
  const info = await detectHost(host);
  const daemonReload = await reload(info);
  const reloadText = daemonReload ? quoteCommand(daemonReload.argv) : null;
  const [user, daemon] = await Promise.all([invokingUser(host), gatherDaemon(host, info, reloadText)]);

  const loadErrors: string[] = [];
  const system = await systemLayers(host, loadErrors);
  const client = await clientLayers(host, user.home, loadErrors);
  const partial = { systemLayers: system, clientLayers: client, daemonEnv: daemon.env, user };
  const view = buildersView(partial);

  // Files are read by the installed Nix's rules, and every `@file` line in them is followed
  // (docs/nix-machines-file.md#versions, #includes).
  const dialect = machinesDialect(info.nix.version?.nix);
  const texts = new Map<string, string>();
  const tree = await readMachinesTree(
    machinesFilesToRead(view, info.machinesFile, dialect),
    async (file) => {
      const read = await readMachinesPath(host, file);
      if (read.kind === "text") texts.set(file, read.text);
      return read;
    },
    dialect,
  );
  const machines = new Map<string, { text: string | null; parsed: TolerantMachines | null }>();
  const machinesFacts: MachinesFacts[] = [];
  for (const m of tree.files) {
    const text = texts.get(m.path) ?? null;
    machines.set(m.path, { text, parsed: m.parsed });
    machinesFacts.push({
      path: m.path,
      exists: m.exists,
      readError: m.readError,
      parsed: m.parsed,
      includedFrom: m.includedFrom,
      text,
    });
  }

  const homes = [...new Set([user.home, host.homeDir])];
  const userMachinesFiles: ConfigFacts["userMachinesFiles"] = [];
  for (const home of homes) {
    const file = path.posix.join(home, ".config/nix/machines");
    const text = await host.readText(file).catch(() => null);
    if (text !== null)
      userMachinesFiles.push({
        path: file,
        entries: listEntries(parseMachinesTolerant(text, file, dialect).model).length,
        systemFirstLines: systemFirstLines(text, file).map((b) => b.source.line),
      });
  }

  const settingsText = await host.readText(info.settingsFile).catch(() => null);
  const local: LocalFacts = {
    platform: host.platform,
    system: info.system,
    uid: host.uid,
    nix: {
      present: info.nix.present,
      version: info.nix.version?.nix ?? null,
      determinate: info.nix.version?.determinate ?? null,
      raw: info.nix.raw,
    },
    flavor: info.flavor,
    flavorEvidence: info.flavorEvidence,
    mode: info.mode,
    settingsFile: info.settingsFile,
    machinesFile: info.machinesFile,
    readOnlyReason: info.readOnlyReason,
    daemon,
  };
  const config: ConfigFacts = {
    systemLayers: system,
    clientLayers: client,
    loadErrors,
    user: { name: user.name, groups: user.groups, viaSudo: user.viaSudo },
    clientRemoteSystems: host.env["NIX_REMOTE_SYSTEMS"],
    daemonEnv: daemon.env,
    fileTimes: await mtimes(host, system),
    machines: machinesFacts,
    dialect,
    includeProblems: tree.problems,
    userMachinesFiles,
  };

  const fleet = fleetFromMachines(
    machinesFacts.flatMap((m) => (m.parsed ? [{ path: m.path, model: m.parsed.model }] : [])),
    dialect,
  );
  const { inline } = buildersItems(view.used.value, view.used.source, dialect);
  fleet.push(...fleetFromMachines([{ path: inline.path, model: inline.model }], dialect));

  return {
    info,
    local,
    config,
    settings: {
      path: info.settingsFile,
      text: settingsText,
      model: parseNixConf(settingsText ?? "", info.settingsFile),
    },
    machines,
    fleet,
    daemonReload,
  };
}
