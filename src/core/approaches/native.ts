// Decodes the state of Determinate's native Linux builder from what was read: config.json's intent,
// `nix config show external-builders`, and determinate-nixd's own words (docs/determinate-native.md).
import { isGeneratedLink } from "../nix/trust.js";
import { atLeast } from "../nix/version.js";
import { NATIVE } from "./footprints.js";
import { type NativeBuilderConfig, parseNativeConfig } from "./native-config.js";

export interface NativeFacts {
  /** Determinate's version from `nix --version`, null for another Nix. */
  determinateVersion: string | null;
  nixVersion: string | null;
  nixdPresent: boolean;
  /** /etc/determinate/config.json text and, when it is a symlink, its target. */
  config: { text: string | null; link: string | null };
  /** `nix config show external-builders`: stdout when it succeeded, else its stderr; null when not asked. */
  externalBuilders: { ok: boolean; output: string } | null;
  /** `determinate-nixd status` and `version` output (only with --probe or `native status`). */
  nixdStatus: string | null;
  nixdVersion: string | null;
}

export type NativeReasonCode =
  | "no-determinate"
  | "too-old"
  | "disabled"
  | "experimental-feature-off"
  | "logged-out"
  | "not-granted"
  | "not-effective"
  | "unknown";

export interface NativeReason {
  code: NativeReasonCode;
  message: string;
  fix: string;
}

export interface ExternalBuilder {
  program: string;
  args: string[];
  systems: string[];
}

export interface NativeStatus {
  determinate: boolean;
  version: string | null;
  /** config.json's builder keys: the intent. */
  config: NativeBuilderConfig;
  configErrors: string[];
  /** Set when the determinate nix-darwin module writes config.json (a symlink into the store). */
  managedByModule: boolean;
  /** What Nix really has; null when it was not asked. */
  externalBuilders: ExternalBuilder[] | null;
  /** external-builders is non-empty and runs determinate-nixd: Linux builds go to the native builder. */
  active: boolean | null;
  granted: boolean | null;
  loggedIn: boolean | null;
  systems: string[];
  /** Why it is not active (null when it is, or when nothing says). */
  reason: NativeReason | null;
}

/** The module option that owns config.json's builder keys (docs/determinate-native.md#module). */
export const MODULE_OPTION = "determinateNix.determinateNixd.builder.state";

/** config.json is a link into the store or /etc/static: the determinate nix-darwin module writes it. */
export function isModuleLink(target: string | null): boolean {
  return isGeneratedLink(NATIVE.configFile, target);
}

/** external-builders as `nix config show` prints it: compact JSON, `[]` when unset. */
export function parseExternalBuilders(output: string): ExternalBuilder[] | null {
  const text = output.trim();
  if (text === "") return [];
  try {
    const value = JSON.parse(text) as unknown;
    if (!Array.isArray(value)) return null;
    return value.flatMap((v) => {
      if (typeof v !== "object" || v === null) return [];
      const o = v as Record<string, unknown>;
      const strings = (x: unknown) => (Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : []);
      return [
        {
          program: typeof o["program"] === "string" ? o["program"] : "",
          args: strings(o["args"]),
          systems: strings(o["systems"]),
        },
      ];
    });
  } catch {
    return null;
  }
}

/** Error texts users see about the native builder, decoded (docs/determinate-native.md#errors). */
export function decodeNativeText(text: string): NativeReason | null {
  if (/could not find setting 'external-builders'/.test(text))
    return reason(
      "too-old",
      "this Nix has no external-builders setting (the native builder needs Determinate Nix 3.8.4 or later)",
      "upgrade: sudo determinate-nixd upgrade",
    );
  if (/experimental feature 'external-builders' is not enabled/.test(text))
    return reason(
      "experimental-feature-off",
      "Nix ignores external-builders: the experimental feature 'external-builders' is not enabled",
      "let determinate-nixd manage nix.conf (do not override experimental-features in nix.custom.conf)",
    );
  if (/Native Linux Builder is not currently available/i.test(text))
    return reason(
      "not-granted",
      "Determinate answered 400: the Native Linux Builder is not available to this account",
      "ask support@determinate.systems to enable it for your FlakeHub account",
    );
  if (/Authentication:\s*logged-out|^Logged in:\s*false/m.test(text))
    return reason(
      "logged-out",
      "determinate-nixd is logged out, so it cannot tell whether the account has the native builder",
      "sudo determinate-nixd login",
    );
  return null;
}

function reason(code: NativeReasonCode, message: string, fix: string): NativeReason {
  return { code, message, fix };
}

export function decodeNative(facts: NativeFacts): NativeStatus {
  const parsed = parseNativeConfig(facts.config.text);
  const determinate = facts.determinateVersion !== null || facts.nixdPresent;
  const externalBuilders = facts.externalBuilders?.ok ? parseExternalBuilders(facts.externalBuilders.output) : null;
  const natives = (externalBuilders ?? []).filter((b) => b.program === NATIVE.nixdProgram);
  const active = facts.externalBuilders === null ? null : natives.length > 0;
  const status = facts.nixdStatus ?? "";
  const version = facts.nixdVersion ?? "";
  const loggedIn = /Authentication:\s*logged-out|^Logged in:\s*false/m.test(status)
    ? false
    : /^Logged in:\s*true/m.test(status) || /Authentication:\s*logged-in/.test(status)
      ? true
      : null;
  const granted = /feature native-linux-builder is enabled/.test(version)
    ? true
    : /Native Linux Builder is not currently available/i.test(`${status}\n${version}`)
      ? false
      : active === true
        ? true
        : loggedIn === true && /version/i.test(version)
          ? false
          : null;
  const result: NativeStatus = {
    determinate,
    version: facts.determinateVersion,
    config: parsed.builder,
    configErrors: parsed.errors,
    managedByModule: isModuleLink(facts.config.link),
    externalBuilders,
    active,
    granted,
    loggedIn,
    systems: [...new Set(natives.flatMap((b) => b.systems))],
    reason: null,
  };
  if (active) return result;
  result.reason = whyNotActive(facts, result);
  return result;
}

function whyNotActive(facts: NativeFacts, s: NativeStatus): NativeReason | null {
  if (!s.determinate)
    return reason(
      "no-determinate",
      "this Nix is not Determinate Nix, which the native builder is part of",
      "install Determinate Nix: https://docs.determinate.systems",
    );
  if (facts.determinateVersion && !atLeast(facts.determinateVersion, NATIVE.minimumDeterminate))
    return reason(
      "too-old",
      `Determinate Nix ${facts.determinateVersion} is older than ${NATIVE.minimumDeterminate}, the first with the native builder`,
      "sudo determinate-nixd upgrade",
    );
  const decoded = decodeNativeText(
    [facts.externalBuilders?.output ?? "", facts.nixdStatus ?? "", facts.nixdVersion ?? ""].join("\n"),
  );
  if (decoded && decoded.code !== "not-granted") return decoded;
  if (s.config.state !== "enabled") {
    const how = s.managedByModule
      ? `set ${MODULE_OPTION} = "enabled"; then darwin-rebuild switch`
      : "crossnix native enable";
    return reason("disabled", `builder.state in ${NATIVE.configFile} is ${s.config.state ?? "not set"}`, how);
  }
  if (decoded) return decoded;
  if (s.granted === false)
    return reason(
      "not-granted",
      "the native builder is not granted to this account",
      "ask support@determinate.systems to enable it for your FlakeHub account",
    );
  if (s.active === false) {
    if (s.loggedIn === null && s.granted === null)
      return reason(
        "not-effective",
        "builder.state is enabled but external-builders is empty: either the account is not granted the feature, determinate-nixd is logged out, or the daemon was not restarted",
        "run crossnix native status (it asks determinate-nixd), or sudo launchctl kickstart -k system/systems.determinate.nix-daemon",
      );
    return reason(
      "not-effective",
      "builder.state is enabled and the account is granted, but external-builders is still empty (the daemon has not re-read it)",
      "sudo launchctl kickstart -k system/systems.determinate.nix-daemon",
    );
  }
  return null;
}
