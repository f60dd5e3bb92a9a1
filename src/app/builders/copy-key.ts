// Installs the daemon's public key on a builder through the invoking user's own SSH login (like ssh-copy-id).
import type { Context } from "../../context.js";
import type { Destination } from "../../core/builders/destination.js";
import { CrossnixError } from "../../errors.js";
import { sshRun } from "../../host/builders/ssh.js";

/** Installs the daemon's public key through the invoking user's own login, like ssh-copy-id. */
export async function copyPublicKey(
  ctx: Pick<Context, "host" | "options">,
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
