// Whether a private key file is one the Nix daemon can use (a regular file, only its owner reads it, no passphrase), or why not.
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { badInput } from "../../errors.js";
import { succeeded } from "../system/exec.js";
import type { Host } from "../system/host.js";

const PUBLIC_KEY_LINE = /^\s*(?:ssh-|ecdsa-|sk-)\S+\s+[A-Za-z0-9+/]+=*(?:\s|$)/;

/**
 * Refuses (exit 2, naming `field`) a key the daemon could not use: ssh ignores a key others can
 * read and cannot ask for a passphrase (the daemon has no terminal, docs/ssh.md#daemon-ssh). The daemon runs
 * elsewhere than this shell, so the path must be absolute.
 */
export async function checkIdentityFile(host: Host, systemPath: string, field: string): Promise<void> {
  const refuse = (why: string, hint?: string) => badInput(field, systemPath, why, hint);
  if (!systemPath.startsWith("/"))
    throw refuse("must be an absolute path: the Nix daemon does not run in this directory");
  const real = host.path(systemPath);
  const info = await stat(real).catch(() => null);
  if (!info) throw refuse("no such file");
  if (info.isDirectory()) throw refuse("is a directory, not a private key file");
  if (!info.isFile()) throw refuse("is not a regular file");
  const privateKey = systemPath.replace(/\.pub$/, "");
  const text = await host.readText(systemPath).catch(() => null);
  if (systemPath.endsWith(".pub") || (text !== null && PUBLIC_KEY_LINE.test(text))) {
    throw refuse(
      "is a public key; the daemon needs the private key",
      `pass the private key${privateKey !== systemPath ? `: --identity ${privateKey}` : ""}`,
    );
  }
  const mode = info.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw refuse(
      `is readable by other users (mode ${mode.toString(8).padStart(4, "0")}), so ssh ignores it`,
      `chmod 600 ${systemPath}`,
    );
  }
  // Run without root, a root-only key cannot be opened here; the daemon (root) can, so say nothing.
  if (
    !(await access(real, constants.R_OK).then(
      () => true,
      () => false,
    ))
  )
    return;
  // With an empty passphrase given, ssh-keygen cannot open a protected key and never prompts.
  const run = await host.exec(["ssh-keygen", "-y", "-P", "", "-f", real], { timeoutMs: 5000 });
  if (succeeded(run)) return;
  if (/passphrase/i.test(run.stderr)) {
    throw refuse(
      "is protected by a passphrase, which the Nix daemon cannot type",
      `remove it (ssh-keygen -p -N '' -f ${systemPath}), or leave out --identity and crossnix makes a dedicated key`,
    );
  }
  const why = run.spawnError ?? (run.stderr.trim().split("\n").at(-1) || `ssh-keygen exited with ${run.exitCode}`);
  throw refuse(`is not a private key ssh-keygen can read (${why})`);
}
