// Loads the nix.conf layers Nix reads (system, user, NIX_CONFIG) with their includes.
import path from "node:path";
import { type NixConf, listIncludes, parseNixConf } from "../../core/formats/nix-conf.js";
import { type ConfigLayer, systemConfigFile, userConfigFiles } from "../../core/nix/settings.js";
import { CrossnixError, parseError } from "../../errors.js";
import type { Host } from "../system/host.js";

/** A nix.conf (system path) parsed, with its text; null when it does not exist. */
export async function loadNixConfFile(host: Host, systemPath: string): Promise<{ conf: NixConf; text: string } | null> {
  const text = await host.readText(systemPath);
  return text === null ? null : { conf: parseNixConf(text, systemPath), text };
}

/**
 * The layers Nix reads, in the order it applies them (loadConfFile, globals.cc): the system
 * nix.conf, then (unless `user: false`, e.g. to see what the daemon itself reads) the user files
 * and $NIX_CONFIG. Included files follow the file that includes them, marked with `includedFrom`.
 * Missing top-level files are listed with `conf: null`, as are missing `!include` targets.
 */
export async function loadConfigLayers(host: Host, options: { user?: boolean } = {}): Promise<ConfigLayer[]> {
  const layers: ConfigLayer[] = [];
  await loadFile(host, systemConfigFile(host.env), "system-file", layers);
  if (options.user === false) return layers;

  for (const file of userConfigFiles(host.env, host.homeDir)) await loadFile(host, file, "user-file", layers);
  const nixConfig = host.env["NIX_CONFIG"];
  if (nixConfig !== undefined) {
    // Nix applies NIX_CONFIG like file contents, so lines are separated by newlines.
    const conf = parseNixConf(nixConfig, "NIX_CONFIG");
    layers.push({ source: "NIX_CONFIG", kind: "env", conf });
    await followIncludes(host, conf, "env", layers, ["NIX_CONFIG"]);
  }
  return layers;
}

async function loadFile(
  host: Host,
  systemPath: string,
  kind: ConfigLayer["kind"],
  layers: ConfigLayer[],
  includedFrom?: { source: string; line: number },
  stack: string[] = [],
): Promise<void> {
  const loaded = await loadNixConfFile(host, systemPath);
  layers.push({ source: systemPath, kind, conf: loaded?.conf ?? null, ...(includedFrom ? { includedFrom } : {}) });
  if (loaded) await followIncludes(host, loaded.conf, kind, layers, [...stack, systemPath]);
}

async function followIncludes(
  host: Host,
  conf: NixConf,
  kind: ConfigLayer["kind"],
  layers: ConfigLayer[],
  stack: string[],
): Promise<void> {
  const source = conf.fileName;
  for (const include of listIncludes(conf)) {
    const { line, column } = include;
    // parseConfigFiles: absPath(path, parent of the including file), lexically (no symlinks).
    // NIX_CONFIG has no directory, so Nix fails with "not an absolute path" for a relative include.
    if (!path.posix.isAbsolute(include.path) && !path.posix.isAbsolute(source)) {
      throw parseError(source, line, column, include.path, "not an absolute path");
    }
    const target = path.posix.resolve(path.posix.dirname(source), include.path);
    if (stack.includes(target)) {
      // Nix has no guard here: it would recurse until it crashes.
      throw parseError(source, line, column, include.path, "include cycle", [...stack, target].join(" → "));
    }
    const includedFrom = { source, line };
    // pathExists does not follow a final symlink; a dangling one "exists", fails to read and is skipped.
    if (!(await host.exists(target)) && (await host.linkTarget(target)) === null) {
      if (include.optional) {
        layers.push({ source: target, kind, conf: null, includedFrom });
        continue;
      }
      // Bad input in a configuration file, like an include cycle: exit 2 (README's exit codes).
      throw new CrossnixError("NOT_FOUND", `file '${target}' included from '${source}' not found`, {
        exitCode: 2,
        hint: `create it, or write '!include ${include.path}' at ${source}:${line} to make it optional`,
        detail: { file: target, includedFrom: source, line },
      });
    }
    await loadFile(host, target, kind, layers, includedFrom, stack);
  }
}
