// Runs OpenSSH to a builder with its pinned host key (argv, temp known_hosts, timeouts).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseKeyscanOutput } from "../../core/formats/known-hosts.js";
import { quoteCommand } from "../../core/shell.js";
import type { ExecResult } from "../system/exec.js";
import type { Host } from "../system/host.js";

/**
 * How crossnix reaches a builder. Always OpenSSH itself, as Nix does (docs/ssh.md#openssh), never with
 * weakened host checking: a pinned key goes into a private known_hosts file and is required.
 */
export interface SshTarget {
  /** What is passed to ssh as the host: the crossnix alias, or the real host name. */
  host: string;
  user?: string | null;
  port?: number | null;
  identity?: string | null;
  /** Public key line ("ssh-ed25519 AAAA…") the server must present. */
  pinnedKey?: string | null;
  /** Name the pinned key is recorded under (HostKeyAlias), so any port matches. */
  hostKeyAlias?: string | null;
}

export interface SshRunOptions {
  timeoutSeconds: number;
  /** Allow the invoking user's agent and default identities (copy-key, setup-remote); never for the daemon view. */
  interactiveUser?: boolean;
  input?: string;
  signal?: AbortSignal;
  /** Positional parameters for the script ($1, $2, …), quoted by the one quoting function. */
  args?: string[];
}

export function sshArgv(target: SshTarget, knownHostsFile: string | null, options: SshRunOptions): string[] {
  const argv = ["ssh", "-x", "-T"];
  if (target.port) argv.push("-p", String(target.port));
  if (target.user) argv.push("-l", target.user);
  if (target.identity) argv.push("-i", target.identity, "-o", "IdentitiesOnly=yes");
  if (knownHostsFile) {
    argv.push("-o", `UserKnownHostsFile=${knownHostsFile}`, "-o", "StrictHostKeyChecking=yes");
    if (target.hostKeyAlias) argv.push("-o", `HostKeyAlias=${target.hostKeyAlias}`);
  }
  // The daemon cannot answer prompts (build-remote unsets DISPLAY and SSH_ASKPASS): neither do we.
  if (!options.interactiveUser) argv.push("-o", "BatchMode=yes");
  argv.push("-o", `ConnectTimeout=${Math.max(1, Math.ceil(options.timeoutSeconds))}`);
  // `--` first: a host read from a file ("-oProxyCommand=…") is a destination, never an option.
  // After it, OpenSSH parses no more options, so the remote command follows the host directly.
  argv.push("--", target.host);
  return argv;
}

/** Runs `sh -c <script>` on the builder over one SSH connection. */
export async function sshRun(
  host: Host,
  target: SshTarget,
  script: string,
  options: SshRunOptions,
): Promise<ExecResult> {
  let dir: string | null = null;
  try {
    let knownHosts: string | null = null;
    if (target.pinnedKey) {
      dir = await mkdtemp(path.join(os.tmpdir(), "crossnix-ssh-"));
      knownHosts = path.join(dir, "known_hosts");
      await writeFile(knownHosts, `${target.hostKeyAlias ?? target.host} ${target.pinnedKey}\n`, { mode: 0o600 });
    }
    const argv = [
      ...sshArgv(target, knownHosts, options),
      quoteCommand(["sh", "-c", script, "sh", ...(options.args ?? [])]),
    ];
    const env = { ...host.env };
    delete env["DISPLAY"];
    delete env["SSH_ASKPASS"];
    if (!options.interactiveUser) delete env["SSH_AUTH_SOCK"];
    return await host.exec(argv, {
      timeoutMs: options.timeoutSeconds * 1000,
      env,
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

export interface ScannedKey {
  keyType: string;
  key: string;
}

/** The host keys a server presents, via ssh-keyscan (no authentication, nothing trusted yet). */
export async function scanHostKeys(
  host: Host,
  address: string,
  port: number | null,
  timeoutSeconds: number,
  /** A hard deadline for the whole scan (doctor's per-builder budget); default timeout + 2 s. */
  deadlineMs = (timeoutSeconds + 2) * 1000,
): Promise<{ keys: ScannedKey[]; result: ExecResult }> {
  const argv = ["ssh-keyscan", "-T", String(Math.max(1, Math.ceil(timeoutSeconds))), "-t", "ed25519,ecdsa,rsa"];
  if (port) argv.push("-p", String(port));
  argv.push("--", address);
  const result = await host.exec(argv, { timeoutMs: deadlineMs });
  return { keys: parseKeyscanOutput(result.stdout).map((k) => ({ keyType: k.keyType, key: k.key })), result };
}
