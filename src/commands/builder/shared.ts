import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Context } from "../../context.js";
import type { Destination } from "../../core/builders/destination.js";
import { daemonSshTarget, findBuilder } from "../../core/builders/fleet.js";
import type { PlanCommand } from "../../core/plan/plan.js";
import type { ProbeFacts } from "../../core/builders/probe.js";
import { listHostBlocks, parseSshConfig } from "../../core/formats/ssh-config.js";
import { badInput, CrossnixError } from "../../errors.js";
import { type ConfigState, loadConfigState } from "../../host/state.js";
import { findDaemonProcess } from "../../host/nix/daemon.js";
import type { Host } from "../../host/system/host.js";
import { SYSTEM_PATHS } from "../../host/system/paths.js";
import { probeBuilder } from "../../host/builders/probe.js";
import { sshRun } from "../../host/builders/ssh.js";

/** ssh config files whose Host blocks a new alias must not shadow or be shadowed by. */
async function sshConfigFiles(host: Host): Promise<string[]> {
  const files = [
    SYSTEM_PATHS.sshSystemConfig,
    host.platform === "darwin" ? "/var/root/.ssh/config" : "/root/.ssh/config",
  ];
  const dir = await readdir(host.path(SYSTEM_PATHS.sshConfigDir)).catch(() => [] as string[]);
  for (const name of dir) {
    if (name.endsWith(".conf") && `${SYSTEM_PATHS.sshConfigDir}/${name}` !== SYSTEM_PATHS.sshAliasFile) {
      files.push(`${SYSTEM_PATHS.sshConfigDir}/${name}`);
    }
  }
  return files;
}

/** A name is an ssh alias: refuse one that an ssh config crossnix does not own already defines. */
export async function assertNameFree(host: Host, state: ConfigState, name: string): Promise<void> {
  for (const block of listHostBlocks(state.sshAliases.model)) {
    if (block.patterns.includes(name) && block.managedBy === null) {
      throw badInput(
        "--name",
        name,
        `clashes with the ssh alias at ${state.sshAliases.path}:${block.line}`,
        "choose another --name",
      );
    }
  }
  for (const file of await sshConfigFiles(host)) {
    const text = await host.readText(file).catch(() => null);
    if (!text) continue;
    for (const block of listHostBlocks(parseSshConfig(text, file))) {
      if (block.patterns.includes(name)) {
        throw badInput(
          "--name",
          name,
          `clashes with the ssh alias 'Host ${block.patterns.join(" ")}' at ${file}:${block.line}`,
          "choose another --name",
        );
      }
    }
  }
  const taken = state.fleet.find((b) => !b.managed && b.authority.host === name);
  if (taken)
    throw badInput(
      "--name",
      name,
      `an entry at ${taken.file}:${taken.line} already uses that host`,
      "choose another --name",
    );
}

/** How to make the daemon re-read its settings here, or null when nobody can. */
export async function daemonReloadCommand(host: Host, state: ConfigState): Promise<PlanCommand | null> {
  if (state.info.daemonReload) return state.info.daemonReload;
  if (host.platform === "linux" && state.info.mode === "daemon" && (await findDaemonProcess())) {
    const cli = fileURLToPath(new URL("../../cli.js", import.meta.url));
    return {
      argv: [process.execPath, cli, "internal", "restart-daemon"],
      description: "restart the running nix-daemon",
    };
  }
  return null;
}

export function trustHint(destination: Destination, facts: ProbeFacts): string {
  const target = `${destination.user ? `${destination.user}@` : ""}${destination.host}${destination.port ? `:${destination.port}` : ""}`;
  return `run 'crossnix builder setup-remote ${target}', or on the builder add '${facts.user}' to trusted-users (trusted-users = root ${facts.user}) in /etc/nix/nix.conf — nix.custom.conf with Determinate Nix — and restart its nix-daemon. Nothing was written`;
}

/** Installs the daemon's public key through the invoking user's own login, like ssh-copy-id. */
export async function copyPublicKey(
  ctx: Context,
  destination: Destination,
  publicKeyPath: string,
  pinnedHostKey: string,
  alias: string,
): Promise<string> {
  const publicKey = (await ctx.host.readText(publicKeyPath))?.trim();
  if (!publicKey) throw new CrossnixError("NOT_FOUND", `no public key at ${publicKeyPath}`);
  const script =
    'umask 077; mkdir -p "$HOME/.ssh" && touch "$HOME/.ssh/authorized_keys" && ' +
    '{ grep -qxF "$1" "$HOME/.ssh/authorized_keys" && echo present || { printf "%s\\n" "$1" >> "$HOME/.ssh/authorized_keys" && echo added; }; }';
  const run = await sshRun(
    ctx.host,
    {
      host: destination.host,
      user: destination.user,
      port: destination.port,
      pinnedKey: pinnedHostKey,
      hostKeyAlias: alias,
    },
    script,
    { timeoutSeconds: ctx.options.timeout, interactiveUser: true, args: [publicKey] },
  );
  if (run.exitCode !== 0) {
    throw new CrossnixError(
      "SSH",
      `could not install the key on ${destination.host}: ${run.stderr.trim().split("\n").at(-1) ?? ""}`,
      {
        hint: `append ${publicKeyPath} to ~/.ssh/authorized_keys of the builder's user yourself`,
      },
    );
  }
  return run.stdout.includes("present")
    ? "The daemon's key was already authorised on the builder."
    : "Authorised the daemon's key on the builder.";
}

/** After a change, connect exactly as the daemon will: root, the configured key, the pinned host key. */
export async function verifyAsDaemon(ctx: Context, name: string): Promise<{ ok: boolean | null; message: string }> {
  if (ctx.options.dryRun) return { ok: null, message: "" };
  if (ctx.host.uid !== 0) {
    return { ok: null, message: `To check it as the Nix daemon connects, run: sudo crossnix builder probe ${name}` };
  }
  const state = await loadConfigState(ctx.host);
  const builder = findBuilder(state.fleet, name);
  if (!builder) return { ok: null, message: "" };
  ctx.progress(`Connecting to '${name}' as the Nix daemon will…`);
  const outcome = await probeBuilder(ctx.host, daemonSshTarget(builder), { timeoutSeconds: ctx.options.timeout });
  if (outcome.ok) {
    const f = outcome.facts;
    return {
      ok: true,
      message: `Verified: root reaches '${name}' with its key and the pinned host key (Nix ${f.nixVersion ?? "?"}, ${f.systems.join(", ")}).`,
    };
  }
  return {
    ok: false,
    message: `Not working yet: ${outcome.failure.summary} (${outcome.failure.evidence}).\nFix: ${outcome.failure.fix}`,
  };
}
