// Declares `crossnix ci …` and its verbs for commander.
import type { Command } from "commander";
import type { LazyAction } from "../lazy.js";

/**
 * `crossnix ci …`: declared here cheaply; each handler module loads only when its verb runs.
 * Option values are validated by the handlers (exit 2 naming the field and value, also in --json).
 */
export function registerCi(program: Command, lazy: LazyAction): void {
  const ci = program
    .command("ci")
    .description("generate and lint GitHub Actions workflows for multi-system Nix builds");

  ci.command("github")
    .description("write a workflow that builds the flake for each system on a native GitHub runner")
    .option(
      "--systems <list>",
      "comma-separated Nix systems (default: the systems the flake defines, read with nix eval)",
    )
    .option(
      "--installer <name>",
      "determinate (DeterminateSystems/determinate-nix-action) or upstream (cachix/install-nix-action)",
      "determinate",
    )
    .option("--cache <kind>", "none, magic-nix-cache, flakehub or cachix:<name>", "magic-nix-cache")
    .option("--attr <attr>", "flake outputs to build: packages or checks", "packages")
    .option(
      "--emulate",
      "build Linux systems other than x86_64-linux under QEMU on ubuntu-24.04 instead of native runners",
    )
    .option("--output <path>", "where to write the workflow ('-' prints it)", ".github/workflows/nix.yml")
    .option("--force", "replace a workflow file crossnix did not generate")
    .addHelpText(
      "after",
      `
Runners: x86_64-linux ubuntu-24.04, aarch64-linux ubuntu-24.04-arm, aarch64-darwin macos-15,
x86_64-darwin macos-15-intel. Re-running regenerates the file and shows the diff.

Examples:
  $ crossnix ci github
  $ crossnix ci github --systems x86_64-linux,aarch64-linux --cache flakehub
  $ crossnix ci github --installer upstream --cache cachix:my-cache --attr checks --dry-run`,
    )
    .action(lazy(() => import("./github.js")));

  ci.command("lint [files...]")
    .description(
      "check workflows for outdated actions, retired runners and cross-build mistakes (default: .github/workflows/*.y*ml)",
    )
    .addHelpText(
      "after",
      `
Exit codes: 0 no error-severity findings, 1 at least one, 2 a file could not be read.
Silence a finding with a comment on (or just above) its line, or in the file's leading comments:
  # crossnix-lint: ignore <rule>[,<rule>]`,
    )
    .action(lazy(() => import("./lint.js")));

  ci.command("flake-snippet")
    .description("print multi-system packages boilerplate for flake.nix")
    .option("--flake-parts", "for a flake built with flake-parts (systems + perSystem)")
    .option(
      "--systems <list>",
      "comma-separated Nix systems",
      "x86_64-linux,aarch64-linux,aarch64-darwin,x86_64-darwin",
    )
    .action(lazy(() => import("./flake-snippet.js")));
}
