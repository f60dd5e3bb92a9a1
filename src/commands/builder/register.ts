// Declares `crossnix builder …` and its verbs for commander; handlers load only when run.
import type { Command } from "commander";
import type { LazyAction } from "../lazy.js";

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerBuilder(program: Command, lazy: LazyAction): void {
  const builder = program
    .command("builder")
    .description("add, list, probe and manage remote SSH builders")
    .addHelpText(
      "after",
      `
Examples:
  $ crossnix builder add nix@build-box.lan --copy-key       probe, pin, register
  $ crossnix builder add ssh-ng://nix@10.0.0.5:2222 --name big --system x86_64-linux --max-jobs 8
  $ crossnix builder list --json
  $ crossnix builder probe                                   every builder, concurrently
  $ crossnix builder disable big && crossnix builder enable big`,
    );

  builder
    .command("add <destination>")
    .description("register a builder: key, pinned host key, ssh alias, machines entry, settings")
    .option("--name <name>", "name of the builder and its ssh alias (default: from the host)")
    .option("--system <system>", "system it builds for, e.g. aarch64-linux (repeatable; default: probed)", collect)
    .option("--max-jobs <n>", "parallel jobs (default: probed CPU count)")
    .option("--speed-factor <n>", "relative speed, a positive number (default: 1)")
    .option("--feature <feature>", "supported system feature (repeatable; default: probed)", collect)
    .option("--mandatory-feature <feature>", "only build derivations requiring this feature (repeatable)", collect)
    .option("--identity <path>", "private key the Nix daemon uses (default: a new dedicated ed25519 key)")
    .option("--protocol <protocol>", "ssh-ng or ssh", undefined)
    .option("--remote-program <path>", "absolute path of nix-daemon (ssh-ng) or nix-store (ssh) on the builder")
    .option("--host-key <base64>", "expected host key (base64 of the key line, or the key line); refuse any other")
    .option("--copy-key", "install the public key on the builder through your own SSH login")
    .option("--setup-remote", "also make the SSH user trusted by the builder's Nix daemon (uses sudo there)")
    .option(
      "--no-probe",
      "no SSH session: systems, features and jobs come from the flags (with --host-key, no connection at all)",
    )
    .action(lazy(() => import("./add.js")));

  builder
    .command("list")
    .description("the builders Nix will use, from every machines file")
    .action(lazy(() => import("./list.js")));

  builder
    .command("remove <name>")
    .description("remove a builder crossnix added: entry, ssh alias, and the key if crossnix made it")
    .action(lazy(() => import("./remove.js")));

  builder
    .command("disable <name>")
    .description("comment the builder's machines entry out (Nix stops using it)")
    .action(lazy(() => import("./disable.js")));

  builder
    .command("enable <name>")
    .description("restore a disabled builder's machines entry")
    .action(lazy(() => import("./enable.js")));

  builder
    .command("probe [names...]")
    .description("connect to builders as the Nix daemon would and report what they offer")
    .action(lazy(() => import("./probe.js")));

  builder
    .command("setup-remote <destination>")
    .description("make the SSH user trusted by the builder's Nix daemon (through your login and sudo)")
    .action(lazy(() => import("./setup-remote.js")));
}
