// The script `vm create` runs in the guest (as its user, through limactl shell) to install Nix.
import { quoteArg } from "../shell.js";

/** Determinate's installer (docs/lima.md#nix-in-the-guest): --no-confirm, settings into nix.custom.conf. */
export const NIX_INSTALLER_URL = "https://install.determinate.systems/nix";

/**
 * Installs Nix unless the guest has it: the guest user in trusted-users (the daemon on the host
 * logs in as that user, docs/lima.md#trust) and, with Rosetta, extra-platforms = x86_64-linux.
 */
export function guestNixScript(user: string, rosetta: boolean): string {
  const conf = [`trusted-users = root ${user}`, ...(rosetta ? ["extra-platforms = x86_64-linux"] : [])];
  const extra = conf.map((c) => `--extra-conf ${quoteArg(c)}`).join(" ");
  return [
    "if command -v nix-daemon >/dev/null 2>&1 || [ -x /nix/var/nix/profiles/default/bin/nix-daemon ]; then",
    "  echo 'crossnix: nix already installed'",
    "else",
    `  curl --proto '=https' --tlsv1.2 -sSf -L ${NIX_INSTALLER_URL} | sudo sh -s -- install linux --no-confirm ${extra}`,
    "fi",
  ].join("\n");
}
