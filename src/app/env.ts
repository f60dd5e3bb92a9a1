// The `crossnix env` use case: the shell lines that point this shell's Nix at the builders.
import { findBuilder, fleetFromMachines } from "../core/builders/fleet.js";
import { renderEnvScript, type ShellKind } from "../core/env/script.js";
import { formatEntry, parseMachinesFile } from "../core/formats/machines/index.js";
import { isTrustedUser } from "../core/nix/trust.js";
import { CrossnixError, noSuchBuilder } from "../errors.js";
import { detectHost } from "../host/nix/detect.js";
import { localCapability } from "../host/nix/local-capability.js";
import type { Host } from "../host/system/host.js";
import { currentUser } from "../host/system/user.js";

export interface EnvInput {
  /** The shell to write for; null: fish when $SHELL is fish, else sh. */
  shell: ShellKind | null;
  /** Only these builders (their entries inline); []: the whole machines file. */
  builders: string[];
}

/** Shell lines that make this shell's Nix use the builders, and what they set. */
export interface EnvScript {
  shell: ShellKind;
  trusted: boolean;
  variables: { NIX_CONFIG: string };
  lines: string[];
}

/** `@machines` for the whole fleet, or the chosen builders' entries inline (`;`-separated). */
async function buildersValue(host: Host, machinesFile: string, names: string[]): Promise<string> {
  if (!names.length) return `@${machinesFile}`;
  const fleet = fleetFromMachines([
    { path: machinesFile, model: parseMachinesFile((await host.readText(machinesFile)) ?? "", machinesFile) },
  ]);
  return names
    .map((name) => {
      const builder = findBuilder(fleet, name);
      if (!builder)
        throw noSuchBuilder(
          [name],
          fleet.map((b) => b.name),
        );
      return formatEntry(builder.entry);
    })
    .join(" ; ");
}

/**
 * The lines for `eval "$(crossnix env)"`: this shell's NIX_CONFIG gains `builders`. Refuses when
 * the daemon would ignore them (a user it does not trust), rather than print lines that do nothing.
 */
export async function envScript(host: Host, input: EnvInput): Promise<EnvScript> {
  const shell = input.shell ?? (/fish$/.test(host.env["SHELL"] ?? "") ? "fish" : "sh");
  const info = await detectHost(host, { nixVersion: false });
  const { name: user, groups } = currentUser();
  const { trustedUsers } = await localCapability(host, info);
  // A single-user install has no daemon to ignore anything; a daemon only honours `builders`
  // from trusted users (daemon.cc; silently ignored on Nix 2.4–2.21, docs/nix-settings.md#client-overrides).
  const trusted = info.mode === "single-user" || isTrustedUser(trustedUsers, user, groups);
  if (!trusted) {
    throw new CrossnixError(
      "PERMISSION",
      `the Nix daemon ignores 'builders' from ${user}: it is a restricted setting and ${user} is not in trusted-users (${trustedUsers.join(" ")})`,
      {
        hint: `register builders system-wide instead, where the daemon reads them: crossnix builder add <user@host>. Or add ${user} to trusted-users in ${info.settingsFile} (that is root-equivalent) and restart the daemon`,
      },
    );
  }
  const { lines, nixConfig } = renderEnvScript({
    shell,
    existingNixConfig: host.env["NIX_CONFIG"] ?? null,
    builders: await buildersValue(host, info.machinesFile, input.builders),
    legacyRemoteSystemsSet: host.env["NIX_REMOTE_SYSTEMS"] !== undefined,
  });
  return { shell, trusted, variables: { NIX_CONFIG: nixConfig }, lines };
}
