// Declares `crossnix cache …` and its verbs for commander; handlers load only when run.
import type { Command } from "commander";
import type { LazyAction } from "../lazy.js";

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerCache(program: Command, lazy: LazyAction): void {
  const cache = program
    .command("cache")
    .description("binary caches the Nix daemon really uses: add, list, remove, and what of a build is cached")
    .addHelpText(
      "after",
      `
Examples:
  $ crossnix cache add nix-community
  $ crossnix cache add cachix:my-cache --key my-cache.cachix.org-1:AbC…=
  $ crossnix cache add https://cache.example.org --key cache.example.org-1:AbC…= --priority 50 \\
      --netrc-login ci --netrc-password-file /run/secrets/cache-token
  $ crossnix cache list --timeout 3
  $ crossnix cache check .#packages.aarch64-linux.default
  $ crossnix cache remove https://cache.example.org`,
    );

  cache
    .command("add <cache>")
    .description("URL, cachix:NAME, nixos, nix-community or flakehub: checked, written for the daemon, proven")
    .option("--key <name:base64>", "public key the cache signs with (repeatable; known caches have theirs)", collect)
    .option("--priority <n>", "written as ?priority=N on the URL (lower wins; cache.nixos.org is 40)")
    .option("--optional", "extra-trusted-substituters: builds use it only when they ask for it")
    .option("--netrc-host <host>", "host of the netrc entry (default: the cache's host)")
    .option("--netrc-login <login>", "login for a private cache")
    .option("--netrc-password-file <file>", "file holding the password or token (never shown or put in nix.conf)")
    .option("--probe-path <store path>", "a path the cache holds, to verify the key with")
    .option("--no-verify-key", "write the key without checking it against a signature from the cache")
    .option("--on-builders", "also on every crossnix builder, through your SSH login and sudo there")
    .action(lazy(() => import("./add.js")));

  cache
    .command("list")
    .description("every substituter from every source, with priority, keys, reachability and latency")
    .action(lazy(() => import("./list.js")));

  cache
    .command("remove <cache>")
    .description("undo exactly what cache add wrote for that URL (or name)")
    .action(lazy(() => import("./remove.js")));

  cache
    .command("check [installables...]")
    .description("for every path a build needs: valid here, in which cache (signature checked), or to be built")
    .option("--system <system>", "system to evaluate for, passed to nix as --system")
    .option("--builders", "also ask each builder (over the daemon's SSH) whether it can reach and trust each cache")
    .addHelpText(
      "after",
      "\nEverything after -- goes to nix unchanged, e.g. crossnix cache check -- -f default.nix hello",
    )
    .action(lazy(() => import("./check.js")));
}
