// The effective value of a Nix setting across nix.conf files, includes and NIX_CONFIG.
import path from "node:path";
import type { NixConf } from "../formats/nix-conf.js";

/**
 * The effective value of a Nix setting across every source Nix reads (docs/nix-settings.md#config-files,
 * loadConfFile in NixOS/nix src/libstore/globals.cc): the system nix.conf, then the user files, then
 * $NIX_CONFIG, each with its includes spliced in where the include line stands.
 */
export interface ConfigLayer {
  /** File path or 'NIX_CONFIG'. (NIX_REMOTE_SYSTEMS is a default, not a layer: see buildersDefault.) */
  source: string;
  kind: "system-file" | "user-file" | "env";
  /** null when the file does not exist. */
  conf: NixConf | null;
  /**
   * Set on a file reached through `include`/`!include`: the including source and its 1-based
   * line. Its settings apply at that line, not after the including file; the top-level walk
   * only starts from layers without it.
   */
  includedFrom?: { source: string; line: number };
}

export type Env = Record<string, string | undefined>;

/** $NIX_CONF_DIR (ignored when empty, getEnvOsNonEmpty) or /etc/nix. */
export function nixConfDir(env: Env): string {
  const dir = env["NIX_CONF_DIR"];
  return dir ? canon(dir) : "/etc/nix";
}

export function systemConfigFile(env: Env): string {
  return path.posix.join(nixConfDir(env), "nix.conf");
}

/**
 * User nix.conf files in the order Nix APPLIES them (later wins). nixUserConfFiles lists
 * $NIX_USER_CONF_FILES, or the config home then each $XDG_CONFIG_DIRS entry; loadConfFile walks
 * that list backwards, so the first entry (e.g. ~/.config/nix/nix.conf) wins.
 */
export function userConfigFiles(env: Env, home: string): string[] {
  const explicit = env["NIX_USER_CONF_FILES"];
  if (explicit !== undefined) {
    // Empty entries mean "." to Nix (a directory: its read fails and is skipped), so dropping them is equivalent.
    return explicit
      .split(":")
      .filter((p) => p !== "")
      .reverse();
  }
  // NIX_CONFIG_HOME exists since Nix 2.25. An empty variable would give Nix a relative path; treat it as unset.
  const configHome =
    env["NIX_CONFIG_HOME"] || path.posix.join(env["XDG_CONFIG_HOME"] || path.posix.join(home, ".config"), "nix");
  // XDG_CONFIG_DIRS defaults to /etc/xdg only when unset; tokenizeString drops empty entries.
  const xdgDirs = (env["XDG_CONFIG_DIRS"] ?? "/etc/xdg").split(":").filter((p) => p !== "");
  const files = [path.posix.join(configHome, "nix.conf"), ...xdgDirs.map((d) => path.posix.join(d, "nix", "nix.conf"))];
  return files.reverse();
}

/**
 * NIX_REMOTE_SYSTEMS is still honoured as the *default* of `builders` (Settings constructor,
 * globals.cc): split on ':', each path prefixed with '@', joined with newlines. Set-but-empty
 * gives an empty default, which replaces @/etc/nix/machines. null when unset.
 */
export function remoteSystemsDefault(env: Env): string | null {
  const value = env["NIX_REMOTE_SYSTEMS"];
  if (value === undefined) return null;
  return value
    .split(":")
    .filter((p) => p !== "")
    .map((p) => `@${p}`)
    .join("\n");
}

/** The default of `builders` and where it comes from: NIX_REMOTE_SYSTEMS, else "@$NIX_CONF_DIR/machines". */
export function buildersDefault(env: Env): DefaultValue {
  const legacy = remoteSystemsDefault(env);
  if (legacy !== null) return { value: legacy, source: "NIX_REMOTE_SYSTEMS" };
  return { value: `@${path.posix.join(nixConfDir(env), "machines")}`, source: null };
}

export interface DefaultValue {
  value: string;
  /** Where a non-built-in default came from, e.g. 'NIX_REMOTE_SYSTEMS'; null for Nix's own default. */
  source: string | null;
}

/**
 * Settings whose type accepts `extra-NAME` (config-impl.hh and globals.cc: Strings, StringSet,
 * StringMap, experimental features, store-reference lists, sandbox paths). `builders` is a plain
 * string, so `extra-builders` is an unknown setting to Nix.
 */
const APPENDABLE: ReadonlySet<string> = new Set([
  "access-tokens",
  "allowed-uris",
  "allowed-users",
  "build-hook",
  "experimental-features",
  "extra-platforms",
  "hashed-mirrors",
  "ignored-acls",
  "impure-env",
  "nix-path",
  "sandbox-paths",
  "secret-key-files",
  "substituters",
  "system-features",
  "trusted-public-keys",
  "trusted-substituters",
  "trusted-users",
  // Determinate Nix only (JSONSetting<StringMap>).
  "build-provenance-tags",
]);

/** Old names Nix still accepts, canonical name → aliases (worker-settings.hh, globals.hh, local-settings.hh). */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  substituters: ["binary-caches"],
  "trusted-public-keys": ["binary-cache-public-keys"],
  "trusted-substituters": ["trusted-binary-caches"],
  "sandbox-paths": ["build-chroot-dirs", "build-sandbox-paths"],
  "max-jobs": ["build-max-jobs"],
  cores: ["build-cores"],
  sandbox: ["build-use-chroot", "build-use-sandbox"],
  substitute: ["build-use-substitutes"],
  fallback: ["build-fallback"],
};

const CANONICAL: ReadonlyMap<string, string> = new Map(
  Object.entries(ALIASES).flatMap(([name, aliases]) => aliases.map((a) => [a, name] as const)),
);

/** The setting a name (possibly an old alias) refers to. */
export function canonicalSettingName(name: string): string {
  return CANONICAL.get(name) ?? name;
}

export function isAppendable(name: string): boolean {
  return APPENDABLE.has(canonicalSettingName(name));
}

/** Plain (non-list) settings crossnix cares about: `extra-` in front of these is certainly rejected. */
const KNOWN_PLAIN: ReadonlySet<string> = new Set([
  "builders",
  "builders-use-substitutes",
  "max-jobs",
  "cores",
  "sandbox",
  "substitute",
  "fallback",
  "require-sigs",
  "store",
  "system",
  "connect-timeout",
  "build-users-group",
  "post-build-hook",
  "netrc-file",
  "ssl-cert-file",
  "keep-outputs",
  "keep-derivations",
  "max-silent-time",
  "timeout",
  "external-builders",
]);

/** One assignment as Nix applies it. */
export interface AppliedLine {
  name: string;
  value: string;
  source: string;
  line: number;
  kind: ConfigLayer["kind"];
}

/**
 * Every `name = value` line in the order Nix applies them: top-level layers in order, and an
 * included file's lines at its include line (parseConfigFiles recurses in place).
 */
export function appliedLines(layers: ConfigLayer[]): AppliedLine[] {
  const out: AppliedLine[] = [];
  const visiting = new Set<ConfigLayer>();
  const walk = (layer: ConfigLayer) => {
    if (!layer.conf || visiting.has(layer)) return;
    visiting.add(layer);
    layer.conf.lines.forEach((l, index) => {
      if (l.kind === "setting") {
        out.push({ name: l.name, value: l.value, source: layer.source, line: index + 1, kind: layer.kind });
      } else if (l.kind === "include") {
        const child = layers.find((c) => c.includedFrom?.source === layer.source && c.includedFrom.line === index + 1);
        if (child) walk(child);
      }
    });
    visiting.delete(layer);
  };
  for (const layer of layers) if (!layer.includedFrom) walk(layer);
  return out;
}

export interface EffectiveSetting {
  name: string;
  /** null = Nix's built-in default, which the caller did not supply. */
  value: string | null;
  /** Where the value was last set or appended; the default's source when nothing set it. */
  source: string | null;
  line: number | null;
  history: { source: string; line: number | null; value: string; op: "set" | "append" }[];
  /** Came from user files or NIX_CONFIG, which the client sends to the daemon as overrides. */
  forwardedToDaemon: boolean;
  /** No plain assignment was seen: the value is the default, plus any `extra-` appends. */
  baseIsDefault: boolean;
}

/**
 * Resolves one setting: a `NAME = v` (or alias) line replaces the value, an `extra-NAME = v`
 * line appends (space-joined) when NAME is appendable, later lines win. `extra-builders` is not
 * an append to `builders` (see unknownExtraSettings).
 */
export function effectiveSetting(
  name: string,
  layers: ConfigLayer[],
  defaults?: Record<string, string | DefaultValue>,
): EffectiveSetting {
  const canonical = canonicalSettingName(name);
  const names = new Set([canonical, ...(ALIASES[canonical] ?? [])]);
  const extraNames = new Set(isAppendable(canonical) ? [...names].map((n) => `extra-${n}`) : []);
  const given = defaults?.[name] ?? defaults?.[canonical];
  const fallback: DefaultValue | undefined = typeof given === "string" ? { value: given, source: null } : given;

  const result: EffectiveSetting = {
    name: canonical,
    value: fallback?.value ?? null,
    source: fallback?.source ?? null,
    line: null,
    history: [],
    forwardedToDaemon: false,
    baseIsDefault: true,
  };
  for (const applied of appliedLines(layers)) {
    const isSet = names.has(applied.name);
    if (!isSet && !extraNames.has(applied.name)) continue;
    if (isSet) {
      result.value = applied.value;
      result.baseIsDefault = false;
    } else {
      result.value = [result.value ?? "", applied.value].filter((v) => v !== "").join(" ");
    }
    result.source = applied.source;
    result.line = applied.line;
    result.history.push({
      source: applied.source,
      line: applied.line,
      value: applied.value,
      op: isSet ? "set" : "append",
    });
    // loadConfFile resets "overridden" after the system file; anything set later is sent to the daemon.
    if (applied.kind !== "system-file") result.forwardedToDaemon = true;
  }
  return result;
}

export interface UnknownExtraSetting extends AppliedLine {
  /** The setting the line seems meant to append to, e.g. `builders`. */
  base: string;
  /** true when `base` is a known plain setting (certainly rejected); false when it is not a setting crossnix knows. */
  baseKnown: boolean;
}

/**
 * `extra-NAME` lines Nix rejects with "unknown setting 'extra-NAME'" because NAME is not
 * appendable (Config::set in configuration.cc), e.g. `extra-builders`. `extra-platforms` is a
 * setting of its own and never reported.
 */
export function unknownExtraSettings(layers: ConfigLayer[]): UnknownExtraSetting[] {
  return appliedLines(layers).flatMap((applied) => {
    if (!applied.name.startsWith("extra-") || APPENDABLE.has(applied.name)) return [];
    const base = canonicalSettingName(applied.name.slice("extra-".length));
    if (isAppendable(base)) return [];
    return [{ ...applied, base, baseKnown: KNOWN_PLAIN.has(base) }];
  });
}

/** Lexically normalised absolute path without a trailing slash (canonPath without symlinks). */
function canon(p: string): string {
  const normal = path.posix.normalize(p);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}
