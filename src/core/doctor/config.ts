// Doctor's configuration checks: nix.conf, `builders`, machines files, trust and max-jobs.
// One file because the checks share one view of the effective settings (buildersView, dialect, files read).
import {
  correctedLine,
  parseRemoteSystemsPairs,
  parseSystemFirstLine,
  SWAPPED_COLUMNS,
  systemFirstLines,
} from "../approaches/manual.js";
import { isTrustedUser } from "../nix/trust.js";
import {
  dialectRange,
  type IncludeProblem,
  type IncludeSite,
  listEntries,
  listIncludes,
  type MachinesDialect,
  NEWEST_DIALECT,
  newerDialects,
  parseMachinesFile,
  reachableFiles,
} from "../formats/machines/index.js";
import type { CrossnixError } from "../../errors.js";
import { syntaxErrors } from "../formats/nix-conf.js";
import {
  type ConfigLayer,
  type EffectiveSetting,
  buildersDefault,
  effectiveSetting,
  unknownExtraSettings,
} from "../nix/settings.js";
import type { LocalFacts } from "./local.js";
import { parseMachinesTolerant, type TolerantMachines } from "./machines.js";
import { type Check, type CheckFix, check, plural } from "./types.js";

/** The configuration as the daemon and as this user's client see it (host/doctor/local.ts). */
export interface ConfigFacts {
  /** What the daemon reads: the system nix.conf and its includes. */
  systemLayers: ConfigLayer[];
  /**
   * The user's files and NIX_CONFIG: sent to the daemon as overrides, subject to trust
   * (docs/nix-settings.md#client-overrides).
   */
  clientLayers: ConfigLayer[];
  /** Files Nix would refuse (missing include, include cycle, unreadable). */
  loadErrors: string[];
  /** The person doctor speaks for (under sudo, SUDO_USER). */
  user: { name: string; groups: string[]; viaSudo: boolean };
  /** NIX_REMOTE_SYSTEMS in doctor's own environment (the client's); undefined when unset. */
  clientRemoteSystems: string | undefined;
  /** The daemon's environment when readable (Linux), else null. */
  daemonEnv: Record<string, string> | null;
  /** Modification times of the system configuration files that exist. */
  fileTimes: { path: string; mtimeMs: number }[];
  /** Every machines file doctor read: those `builders` names, crossnix's own, and every file their `@file` lines reach. */
  machines: MachinesFacts[];
  /** The installed Nix's rules for machines files (docs/nix-machines-file.md#versions); newest when absent or unknown. */
  dialect?: MachinesDialect;
  /** `@file` lines crossnix could not follow: cycles, relative paths. */
  includeProblems?: IncludeProblem[];
  /** `~/.config/nix/machines` files that exist (the seed guide's advice). */
  userMachinesFiles: { path: string; entries: number; systemFirstLines?: number[] }[];
}

export interface MachinesFacts {
  path: string;
  exists: boolean;
  /** A read error other than "does not exist" (Nix throws on those, docs/nix-machines-file.md#includes). */
  readError: string | null;
  parsed: TolerantMachines | null;
  /** The `@file` line that made Nix read it; null or absent for a file named by `builders` (or crossnix's own). */
  includedFrom?: IncludeSite | null;
  /** The file's text, to tell which Nix versions accept a rejected line. */
  text?: string | null;
}

export interface BuildersView {
  /** `builders` as the daemon itself has it (default: NIX_REMOTE_SYSTEMS of the daemon, else @<conf dir>/machines). */
  system: EffectiveSetting & { value: string };
  /** Set when the user's files or NIX_CONFIG assign `builders`. */
  client: (EffectiveSetting & { value: string }) | null;
  trusted: boolean;
  trustReason: string;
  /** What the daemon uses for this user's builds. */
  used: { value: string; source: string };
}

export function describeSource(s: EffectiveSetting): string {
  if (s.line !== null && s.source) return `${s.source}:${s.line}`;
  if (s.source === "NIX_REMOTE_SYSTEMS") return "the daemon's NIX_REMOTE_SYSTEMS";
  return "Nix's default";
}

/**
 * trusted-users (default root; `@group` and `*` allowed) is read by the daemon only
 * (docs/nix-settings.md#trusted-users).
 */
export function clientTrust(
  systemLayers: ConfigLayer[],
  user: { name: string; groups: string[] },
): { trusted: boolean; reason: string } {
  const setting = effectiveSetting("trusted-users", systemLayers, { "trusted-users": "root" });
  const words = (setting.value ?? "").split(/\s+/).filter(Boolean);
  const where = `trusted-users = ${words.join(" ") || "(empty)"}${setting.line !== null ? ` at ${describeSource(setting)}` : " (default)"}`;
  if (user.name === "root") return { trusted: true, reason: "root" };
  return isTrustedUser(words, user.name, user.groups)
    ? { trusted: true, reason: `${where} includes ${user.name}` }
    : { trusted: false, reason: `${where} does not include ${user.name}` };
}

export function buildersView(
  c: Pick<ConfigFacts, "systemLayers" | "clientLayers" | "daemonEnv" | "user">,
): BuildersView {
  const system = effectiveSetting("builders", c.systemLayers, {
    builders: buildersDefault(c.daemonEnv ?? {}),
  }) as BuildersView["system"];
  const all = effectiveSetting("builders", [...c.systemLayers, ...c.clientLayers], {
    builders: buildersDefault(c.daemonEnv ?? {}),
  });
  const client = all.forwardedToDaemon ? (all as BuildersView["system"]) : null;
  const trust = clientTrust(c.systemLayers, c.user);
  // daemon.cc: an untrusted client's `builders` is ignored unless it is empty (docs/nix-settings.md#client-overrides).
  const honoured = client !== null && (trust.trusted || client.value === "");
  const used = honoured
    ? { value: client.value, source: describeSource(client) }
    : { value: system.value, source: describeSource(system) };
  return { system, client, trusted: trust.trusted, trustReason: trust.reason, used };
}

/** The `@file` includes and inline entries of a `builders` value (same grammar as a machines file). */
export function buildersItems(
  value: string,
  source: string,
  dialect: MachinesDialect = NEWEST_DIALECT,
): { files: string[]; inline: TolerantMachines } {
  const inline = parseMachinesTolerant(value, `builders (${source})`, dialect);
  return { files: listIncludes(inline.model).map((i) => i.path), inline };
}

/** Machines files doctor must read first: those the daemon's and the user's `builders` name, and crossnix's. */
export function machinesFilesToRead(
  view: BuildersView,
  machinesFile: string,
  dialect: MachinesDialect = NEWEST_DIALECT,
): string[] {
  const files = [...buildersItems(view.system.value, "system", dialect).files];
  if (view.client) files.push(...buildersItems(view.client.value, "client", dialect).files);
  files.push(machinesFile);
  return [...new Set(files)];
}

function enabledEntries(m: MachinesFacts | undefined): number {
  return m?.parsed ? listEntries(m.parsed.model).filter((e) => !e.disabled).length : 0;
}

/** Enabled entries in `roots` and in every file their `@file` lines reach (docs/nix-machines-file.md#includes). */
function reachableEntries(c: ConfigFacts, roots: string[]): number {
  return reachableFiles(c.machines, roots).reduce(
    (n, f) => n + enabledEntries(c.machines.find((m) => m.path === f)),
    0,
  );
}

function dialectOf(c: ConfigFacts): MachinesDialect {
  return c.dialect ?? NEWEST_DIALECT;
}

/**
 * A rejected line, with which Nix rejects it and, when a newer Nix would take it, which one
 * (docs/nix-machines-file.md#versions).
 */
function rejection(
  error: CrossnixError,
  text: string | null | undefined,
  local: LocalFacts,
  dialect: MachinesDialect,
): string {
  const line = Number(error.detail?.["line"]);
  const lineText = text?.split("\n")[line - 1];
  const installed = local.nix.version ? `Nix ${local.nix.version}` : dialectRange(dialect);
  if (lineText === undefined) return error.message;
  // The guide's system-first form fails at column #4; say what is really wrong (docs/approaches.md#manual-setup).
  const guide = parseSystemFirstLine(lineText);
  if (guide) {
    return `${error.message} — ${SWAPPED_COLUMNS}: write it as '${correctedLine(guide)}', or let 'crossnix migrate --from manual --to ssh:${guide.destination}' register it`;
  }
  const accepting = newerDialects(dialect).find((d) => {
    try {
      parseMachinesFile(lineText, "line", d);
      return true;
    } catch {
      return false;
    }
  });
  return accepting
    ? `${error.message} — the installed ${installed} rejects it; ${dialectRange(accepting)} would accept it`
    : error.message;
}

/**
 * Lines the installed Nix reads differently from what they seem to say (docs/nix-machines-file.md#splitting,
 * #includes): a builder after a '#' (before 2.29 ';' splits first), and ` @file` read as a machine.
 */
function quirks(
  model: TolerantMachines["model"],
  label: string,
  local: LocalFacts,
  dialect: MachinesDialect,
): string[] {
  const installed = local.nix.version ? `Nix ${local.nix.version}` : dialectRange(dialect);
  const out: string[] = [];
  model.lines.forEach((line, index) => {
    const hash = line.raw.indexOf("#");
    for (const item of line.items) {
      if (item.kind !== "entry") continue;
      if (item.entry.uri.startsWith("@")) {
        out.push(
          `${label}:${index + 1}: ${installed} reads '${item.raw}' as a builder whose store URI is '${item.entry.uri}', not as an include: it looks for '@' before trimming the space in front (Nix 2.29 and later follow it); remove that space`,
        );
      } else if (hash !== -1 && item.column - 1 > hash) {
        out.push(
          `${label}:${index + 1}: ${installed} reads '${item.raw}' after the '#' as a builder: it splits on ';' before cutting the comment (Nix 2.29 and later ignore it); move the comment or delete the ';'`,
        );
      }
    }
  });
  return out;
}

export function nixConfCheck(c: ConfigFacts): Check {
  const layers = [...c.systemLayers, ...c.clientLayers];
  const syntax = layers.flatMap((l) => (l.conf ? syntaxErrors(l.conf).map((e) => e.message) : []));
  const problems = [...c.loadErrors, ...syntax];
  if (problems.length) {
    return check("config.nix-conf", "configuration", "fail", "nix.conf", problems.join("; "), {
      description: "fix these lines: Nix stops with 'syntax error in configuration line' or a missing include",
    });
  }
  const read = layers.filter((l) => l.conf).map((l) => l.source);
  return check(
    "config.nix-conf",
    "configuration",
    "ok",
    "nix.conf",
    `valid: ${read.join(", ") || "no configuration files"}`,
  );
}

export function buildersCheck(local: LocalFacts, c: ConfigFacts, view: BuildersView): Check {
  const machinesFile = local.machinesFile;
  const dialect = dialectOf(c);
  const systemFiles = buildersItems(view.system.value, "system", dialect);
  const crossnixCount = enabledEntries(c.machines.find((m) => m.path === machinesFile));
  const shown = (v: string) => (v.trim() === "" ? "(empty)" : `'${v.replace(/\s*\n\s*/g, " ; ")}'`);
  const parts = [
    `${local.mode === "daemon" ? "the daemon reads " : ""}builders = ${shown(view.system.value)} from ${describeSource(view.system)}`,
  ];
  if (view.client) {
    parts.push(
      `your ${describeSource(view.client)} sets ${shown(view.client.value)}${view.trusted || view.client.value === "" ? ", which replaces it for your builds" : ", which the daemon ignores (see config.client-builders-untrusted)"}`,
    );
  }
  const observed = parts.join("; ");
  if (crossnixCount > 0 && !reachableFiles(c.machines, systemFiles.files).includes(machinesFile)) {
    return check(
      "config.builders",
      "configuration",
      "fail",
      "builders",
      `${observed}: it does not read ${machinesFile}, where ${plural(crossnixCount, "builder is", "builders are")} registered`,
      {
        description: `make builders include @${machinesFile} (builders is not appendable, so the whole value is rewritten), then restart the daemon`,
        auto: { kind: "builders-include" },
      },
    );
  }
  const total = reachableEntries(c, systemFiles.files) + listEntries(systemFiles.inline.model).length;
  if (view.used.value.trim() === "" || (total === 0 && !(view.client && view.trusted))) {
    return check(
      "config.builders",
      "configuration",
      "warn",
      "builders",
      `${observed}: no remote builders are configured`,
      {
        description: "register a builder",
        command: "crossnix builder add user@host",
      },
    );
  }
  if (
    view.client &&
    view.trusted &&
    !reachableFiles(c.machines, buildersItems(view.client.value, "client", dialect).files).includes(machinesFile) &&
    crossnixCount > 0
  ) {
    return check(
      "config.builders",
      "configuration",
      "warn",
      "builders",
      `${observed}: your builds do not use the ${plural(crossnixCount, "builder")} in ${machinesFile}`,
      {
        description: `remove builders from ${view.client.source ?? "your configuration"}, or include @${machinesFile} in it`,
      },
    );
  }
  return check("config.builders", "configuration", "ok", "builders", `${observed}: ${plural(total, "builder")}`);
}

export function legacyRemoteSystemsCheck(local: LocalFacts, c: ConfigFacts, view: BuildersView): Check {
  const daemonValue = c.daemonEnv?.["NIX_REMOTE_SYSTEMS"];
  const clientValue = c.clientRemoteSystems;
  const fix: CheckFix = {
    description:
      "unset NIX_REMOTE_SYSTEMS (remove it from your shell profile and the daemon's environment) and register builders in the machines file",
    command: "crossnix builder add user@host",
  };
  if (daemonValue !== undefined) {
    const effect = view.system.baseIsDefault
      ? `it replaces the default @${local.machinesFile} for every build`
      : "a builders line overrides it, so it has no effect";
    return check(
      "config.legacy-remote-systems",
      "configuration",
      "warn",
      "NIX_REMOTE_SYSTEMS",
      `the daemon runs with NIX_REMOTE_SYSTEMS=${daemonValue}, a legacy ':'-list of machines files that only sets the default of builders: ${effect}`,
      fix,
    );
  }
  if (clientValue !== undefined) {
    const pairs = parseRemoteSystemsPairs(clientValue);
    if (pairs.length > 0) {
      return check(
        "config.legacy-remote-systems",
        "configuration",
        "warn",
        "NIX_REMOTE_SYSTEMS",
        `NIX_REMOTE_SYSTEMS=${clientValue} is set in this shell in the form system=user@host, which Nix never read: it is a ':'-list of machines files, so it names no builder`,
        {
          description: `turn ${pairs.map((p) => p.destination).join(", ")} into builders, then remove the variable from your shell profile`,
          command: "crossnix migrate --from manual --to ssh:<user@host>",
        },
      );
    }
    const effect =
      local.mode === "daemon"
        ? "builds go through the daemon, which never sees your environment, so it has no effect"
        : "it is only the default of builders: any builders line overrides it";
    return check(
      "config.legacy-remote-systems",
      "configuration",
      "warn",
      "NIX_REMOTE_SYSTEMS",
      `NIX_REMOTE_SYSTEMS=${clientValue} is set in this shell: a legacy ':'-list of machines files; ${effect}`,
      fix,
    );
  }
  return check(
    "config.legacy-remote-systems",
    "configuration",
    "ok",
    "NIX_REMOTE_SYSTEMS",
    "not set (good: it is a legacy default for builders)",
  );
}

export function userMachinesFileCheck(local: LocalFacts, c: ConfigFacts, view: BuildersView): Check {
  if (c.userMachinesFiles.length === 0) {
    return check(
      "config.user-machines-file",
      "configuration",
      "ok",
      "~/.config/nix/machines",
      "none (Nix does not read such a file anyway)",
    );
  }
  const usedFiles = new Set(reachableFiles(c.machines, buildersItems(view.used.value, "used", dialectOf(c)).files));
  const ignored = c.userMachinesFiles.filter((f) => !usedFiles.has(f.path));
  if (ignored.length === 0) {
    return check(
      "config.user-machines-file",
      "configuration",
      "ok",
      "~/.config/nix/machines",
      `${c.userMachinesFiles.map((f) => f.path).join(", ")} is read through builders`,
    );
  }
  const list = ignored
    .map((f) =>
      f.systemFirstLines?.length
        ? `${f.path} (lines ${f.systemFirstLines.join(", ")}: ${SWAPPED_COLUMNS})`
        : `${f.path} (${plural(f.entries, "entry", "entries")})`,
    )
    .join(", ");
  return check(
    "config.user-machines-file",
    "configuration",
    "warn",
    "~/.config/nix/machines",
    `${list} exists, but Nix never reads it: only the builders setting (default @${local.machinesFile}) says where machines are`,
    {
      description: `register those builders with crossnix (they go to ${local.machinesFile}), then delete the file`,
      command: "crossnix builder add user@host",
    },
  );
}

export function machinesFileCheck(local: LocalFacts, c: ConfigFacts, view: BuildersView): Check {
  const dialect = dialectOf(c);
  const named = [
    ...buildersItems(view.system.value, "system", dialect).files,
    ...(view.client ? buildersItems(view.client.value, "client", dialect).files : []),
  ];
  const referenced = new Set(reachableFiles(c.machines, named));
  const failures: string[] = [];
  const warnings: string[] = [];
  const fine: string[] = [];
  const inline = [
    { value: view.system.value, parsed: buildersItems(view.system.value, describeSource(view.system), dialect).inline },
    ...(view.client
      ? [
          {
            value: view.client.value,
            parsed: buildersItems(view.client.value, describeSource(view.client), dialect).inline,
          },
        ]
      : []),
  ];
  for (const { value, parsed } of inline) {
    failures.push(...parsed.errors.map((e) => rejection(e, value, local, dialect)));
    warnings.push(...quirks(parsed.model, parsed.path, local, dialect));
  }
  for (const problem of c.includeProblems ?? []) (problem.kind === "cycle" ? failures : warnings).push(problem.message);
  for (const m of c.machines) {
    const from = m.includedFrom ? ` (included from ${m.includedFrom.file}:${m.includedFrom.line})` : "";
    if (m.readError) {
      failures.push(`${m.path}${from}: ${m.readError} (Nix fails on any read error but "not found")`);
      continue;
    }
    if (!m.exists) {
      if (m.includedFrom) warnings.push(`${m.path}${from} does not exist; Nix skips it without a word`);
      else if (referenced.has(m.path) && m.path !== local.machinesFile)
        warnings.push(`${m.path} (named by builders) does not exist; Nix skips it without a word`);
      continue;
    }
    if (!m.parsed) continue;
    failures.push(...m.parsed.errors.map((e) => rejection(e, m.text, local, dialect)));
    warnings.push(...quirks(m.parsed.model, m.path, local, dialect));
    const entries = listEntries(m.parsed.model);
    for (const e of entries) {
      if (!e.disabled && e.entry.systems.length === 0) {
        warnings.push(
          `${m.path}:${e.line}: no systems column, so Nix assumes this machine's own system (${local.system})`,
        );
      }
    }
    const disabled = entries.filter((e) => e.disabled).length;
    fine.push(
      `${m.path}${from}: ${plural(entries.length - disabled, "builder")}${disabled ? ` (+${disabled} disabled)` : ""}${referenced.has(m.path) ? "" : ", not named by builders"}`,
    );
  }
  if (failures.length) {
    // The guide's system-first lines in crossnix's own file: --fix comments them out (docs/approaches.md#manual-setup).
    const own = c.machines.find((m) => m.path === local.machinesFile);
    const guide = own?.text ? systemFirstLines(own.text, own.path) : [];
    return check("config.machines-file", "configuration", "fail", "Machines file", failures.join("; "), {
      description:
        "fix or remove these lines: Nix rejects the whole file ('bad machine specification'), so no builder in it is used",
      ...(guide.length
        ? {
            auto: {
              kind: "comment-guide-lines" as const,
              lines: guide.map((g) => g.source.line),
              destinations: [...new Set(guide.map((g) => g.destination))],
            },
          }
        : {}),
    });
  }
  if (warnings.length) {
    return check("config.machines-file", "configuration", "warn", "Machines file", [...warnings, ...fine].join("; "), {
      description:
        "list the systems each builder builds (column 2), point builders and @file lines only at files that exist, and write each line so every Nix reads it the same way",
    });
  }
  return check(
    "config.machines-file",
    "configuration",
    "ok",
    "Machines file",
    fine.join("; ") || `no machines file (${local.machinesFile} does not exist)`,
  );
}

/** Enabled entries reachable from the `builders` value the daemon uses for this user's builds. */
export function configuredBuilders(c: ConfigFacts, view: BuildersView): number {
  const items = buildersItems(view.used.value, "used", dialectOf(c));
  return reachableEntries(c, items.files) + listEntries(items.inline.model).length;
}

export function useSubstitutesCheck(c: ConfigFacts, view: BuildersView): Check {
  if (configuredBuilders(c, view) === 0) {
    return check(
      "config.builders-use-substitutes",
      "configuration",
      "skip",
      "builders-use-substitutes",
      "no remote builders configured",
    );
  }
  const layers = view.trusted ? [...c.systemLayers, ...c.clientLayers] : c.systemLayers;
  const s = effectiveSetting("builders-use-substitutes", layers);
  if (s.value === "true") {
    return check(
      "config.builders-use-substitutes",
      "configuration",
      "ok",
      "builders-use-substitutes",
      `true (${describeSource(s)})`,
    );
  }
  return check(
    "config.builders-use-substitutes",
    "configuration",
    "warn",
    "builders-use-substitutes",
    `${s.value === null ? "not set (default false)" : `${s.value} at ${describeSource(s)}`}: every input is uploaded from this machine instead of fetched by the builder from its caches`,
    {
      description: "set builders-use-substitutes = true (ssh-ng needs Nix ≥ 2.4 on both ends), then restart the daemon",
      auto: {
        kind: "set-setting",
        name: "builders-use-substitutes",
        value: "true",
        comment: "crossnix: builders fetch inputs from their own caches",
      },
    },
  );
}

export function daemonStaleCheck(local: LocalFacts, c: ConfigFacts): Check {
  const title = "Daemon has read the settings";
  if (local.mode !== "daemon")
    return check(
      "config.daemon-stale",
      "configuration",
      "skip",
      title,
      "no daemon (single-user install): every command reads nix.conf itself",
    );
  const started = local.daemon.startedAt;
  if (started === null)
    return check("config.daemon-stale", "configuration", "skip", title, "could not tell when the daemon started");
  // `ps -o lstart` has second resolution; /proc has clock ticks.
  const slack = local.daemon.startedAtResolutionMs ?? 1000;
  const newer = c.fileTimes.filter((f) => f.mtimeMs > started + slack);
  if (newer.length === 0) {
    return check(
      "config.daemon-stale",
      "configuration",
      "ok",
      title,
      `the daemon started ${new Date(started).toISOString()}, after the last change to ${c.fileTimes.map((f) => f.path).join(", ") || "nix.conf"}`,
    );
  }
  const list = newer.map((f) => `${f.path} (${new Date(f.mtimeMs).toISOString()})`).join(", ");
  return check(
    "config.daemon-stale",
    "configuration",
    "fail",
    title,
    `${list} changed after the daemon started (${new Date(started).toISOString()}); it reads nix.conf only at start-up, so it still runs with the old settings`,
    {
      description: "restart the Nix daemon",
      ...(local.daemon.reloadCommand ? { command: local.daemon.reloadCommand } : {}),
      auto: { kind: "restart-daemon" },
    },
  );
}

export function clientBuildersUntrustedCheck(local: LocalFacts, c: ConfigFacts, view: BuildersView): Check {
  const title = "Your own builders setting";
  if (!view.client)
    return check(
      "config.client-builders-untrusted",
      "configuration",
      "ok",
      title,
      "builders is not set in your user files or NIX_CONFIG",
    );
  if (local.mode !== "daemon")
    return check(
      "config.client-builders-untrusted",
      "configuration",
      "ok",
      title,
      `${describeSource(view.client)} sets builders; single-user Nix uses it directly`,
    );
  if (view.trusted) {
    return check(
      "config.client-builders-untrusted",
      "configuration",
      "ok",
      title,
      `${describeSource(view.client)} sets builders and the daemon honours it: ${c.user.name} is trusted (${view.trustReason})`,
    );
  }
  if (view.client.value === "") {
    return check(
      "config.client-builders-untrusted",
      "configuration",
      "ok",
      title,
      `${describeSource(view.client)} sets builders to empty, which the daemon allows anyone`,
    );
  }
  const version = local.nix.version;
  // Printed at warn level from 2.22, at debug level (silent) in 2.4–2.21 (docs/nix-settings.md#client-overrides).
  const loudness =
    version === null ? "" : /^2\.(?:[4-9]|1\d|2[01])(?:\.|$)/.test(version) ? ` — silently, on Nix ${version}` : "";
  return check(
    "config.client-builders-untrusted",
    "configuration",
    "fail",
    title,
    `${describeSource(view.client)} sets builders, but the daemon ignores it${loudness}: ${c.user.name} is not a trusted user (${view.trustReason}), so builds use the daemon's own builders`,
    {
      description: `register the builders system-wide with crossnix (they go to ${local.machinesFile}) and remove builders from ${view.client.source ?? "your configuration"}; adding yourself to trusted-users also works but is root-equivalent`,
      command: "crossnix builder add user@host",
    },
  );
}

export function extraBuildersCheck(c: ConfigFacts): Check {
  const bad = unknownExtraSettings([...c.systemLayers, ...c.clientLayers]).filter((u) => u.baseKnown);
  if (bad.length === 0)
    return check(
      "config.extra-builders",
      "configuration",
      "ok",
      "extra-builders",
      "no extra- prefix on a setting that cannot be appended to",
    );
  const list = bad.map((b) => `${b.name} at ${b.source}:${b.line}`).join(", ");
  return check(
    "config.extra-builders",
    "configuration",
    "fail",
    "extra-builders",
    `${list}: ${bad.some((b) => b.base === "builders") ? "builders is a plain string, not a list, so Nix warns \"unknown setting 'extra-builders'\" and ignores the line" : "these settings are not lists, so Nix ignores the lines as unknown settings"}`,
    {
      description:
        "delete the line and register its builders in the machines file (builders = @/etc/nix/machines reads them)",
      command: "crossnix builder add user@host",
    },
  );
}

/**
 * max-jobs = 0 turns local builds off: with no usable builder, every build fails
 * (docs/nix-errors.md#local-builds-disabled).
 */
export function maxJobsZeroCheck(
  c: ConfigFacts,
  usable: { usable: number; checked: number; filtered: boolean },
): Check {
  const s = effectiveSetting("max-jobs", [...c.systemLayers, ...c.clientLayers]);
  const title = "max-jobs = 0";
  if (s.value?.trim() !== "0") {
    return check(
      "config.max-jobs-zero",
      "configuration",
      "ok",
      title,
      `max-jobs = ${s.value ?? "1 (default)"}: this machine builds what no builder takes`,
    );
  }
  const where = describeSource(s);
  if (usable.usable > 0) {
    return check(
      "config.max-jobs-zero",
      "configuration",
      "ok",
      title,
      `max-jobs = 0 at ${where}: everything builds remotely, on ${plural(usable.usable, "usable builder")}`,
    );
  }
  if (usable.filtered)
    return check(
      "config.max-jobs-zero",
      "configuration",
      "skip",
      title,
      `max-jobs = 0 at ${where}; only one builder was checked (--builder)`,
    );
  return check(
    "config.max-jobs-zero",
    "configuration",
    "fail",
    title,
    `max-jobs = 0 at ${where} and ${usable.checked === 0 ? "no builder is configured" : `none of the ${plural(usable.checked, "builder")} works`}: every build fails with "unable to start any build"`,
    { description: "fix the builders above (or set max-jobs = auto to build here again)" },
  );
}

export function configChecks(local: LocalFacts, c: ConfigFacts): Check[] {
  const view = buildersView(c);
  return [
    nixConfCheck(c),
    buildersCheck(local, c, view),
    machinesFileCheck(local, c, view),
    legacyRemoteSystemsCheck(local, c, view),
    userMachinesFileCheck(local, c, view),
    extraBuildersCheck(c),
    clientBuildersUntrustedCheck(local, c, view),
    useSubstitutesCheck(c, view),
    daemonStaleCheck(local, c),
  ];
}
