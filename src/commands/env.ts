import type { Handler } from "../context.js";
import { findBuilder, fleetFromMachines } from "../core/builders/fleet.js";
import { formatEntry, parseMachinesFile } from "../core/formats/machines/index.js";
import type { Host } from "../host/system/host.js";
import { renderEnvScript, type ShellKind } from "../core/env/script.js";
import { isTrustedUser } from "../core/nix/trust.js";
import { checkBuilderName } from "../core/builders/name.js";
import { badInput, CrossnixError, noSuchBuilder } from "../errors.js";
import { detectHost } from "../host/nix/detect.js";
import { localCapability } from "../host/nix/local-capability.js";
import { currentUser } from "../host/system/user.js";

/** `@machines` for the whole fleet, or the chosen builders' entries inline (`;`-separated). */
async function buildersValue(host: Host, machinesFile: string, names: string[] | undefined): Promise<string> {
  if (!names?.length) return `@${machinesFile}`;
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

const env: Handler = async (ctx, { options }) => {
  const shell = String(options["shell"] ?? (/fish$/.test(ctx.host.env["SHELL"] ?? "") ? "fish" : "sh"));
  if (shell !== "sh" && shell !== "fish") throw badInput("--shell", shell, "must be sh or fish");
  const names = ((options["builder"] as string[] | undefined) ?? []).map((name) => checkBuilderName("--builder", name));
  const info = await detectHost(ctx.host, { nixVersion: false });
  const { name: user, groups } = currentUser();
  const { trustedUsers } = await localCapability(ctx.host, info);
  // A single-user install has no daemon to ignore anything; a daemon only honours `builders`
  // from trusted users (daemon.cc; silently ignored on Nix 2.4–2.21, reference §2).
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
    shell: shell as ShellKind,
    existingNixConfig: ctx.host.env["NIX_CONFIG"] ?? null,
    builders: await buildersValue(ctx.host, info.machinesFile, names),
    legacyRemoteSystemsSet: ctx.host.env["NIX_REMOTE_SYSTEMS"] !== undefined,
  });
  return { json: { shell, trusted, variables: { NIX_CONFIG: nixConfig }, lines }, text: lines.join("\n") };
};

export default env;
