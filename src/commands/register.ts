// Declares every top-level verb for commander, each with a lazily loaded handler.
import type { Command } from "commander";
import type { LazyAction } from "./lazy.js";
import { registerApproaches } from "./approaches/register.js";
import { registerBuilder } from "./builder/register.js";
import { registerCache } from "./cache/register.js";
import { registerCi } from "./ci/register.js";
import { registerEmulate } from "./emulate/register.js";
import { registerVm } from "./vm/register.js";

/**
 * Registers every verb. Registration only declares arguments and options (cheap); each action
 * imports its handler module when it runs, so start-up never loads what a command does not use.
 */
export function registerVerbs(program: Command, lazy: LazyAction): void {
  registerBuilder(program, lazy);
  registerCi(program, lazy);
  registerCache(program, lazy);
  registerEmulate(program, lazy);
  registerVm(program, lazy);
  registerApproaches(program, lazy);
  program
    .command("build [installables...]")
    .description("build through the fleet: check every system has a healthy builder first, then say who built what")
    .option("--system <system>", "system to build for, passed to nix as --system")
    .option("--builder <name>", "build only on this builder (needs a user the Nix daemon trusts)")
    .option(
      "--start-vms",
      "start crossnix's stopped Lima VMs first and wait for SSH (default with CROSSNIX_START_VMS=1)",
    )
    .option("-L, --print-build-logs", "interleave build logs, each line prefixed with derivation and builder")
    .addHelpText(
      "after",
      `
Everything after -- goes to nix build unchanged. On a terminal a live view shows each builder's
slots and builds, local work, the queue and an ETA; without one (CI, pipes, --no-color) one
timestamped line per change. Every build is recorded for 'crossnix builds'.

Examples:
  $ crossnix build .#packages.aarch64-linux.default
  $ crossnix build --builder big -- -f default.nix hello
  $ crossnix build -- --expr 'with import <nixpkgs> { system = "aarch64-linux"; }; hello' --impure`,
    )
    .action(lazy(() => import("./build.js")));
  program
    .command("builds")
    .description("build history: per-builder utilization and success rate, the slowest derivations and their trend")
    .option("--since <when>", "only builds since then: a date (2026-12-01) or a duration back (12h, 7d, 2w)")
    .option("--builder <name>", "only builds on this builder")
    .addHelpText("after", `\nExamples:\n  $ crossnix builds --since 7d\n  $ crossnix builds --builder big --json`)
    .action(lazy(() => import("./builds.js")));
  program
    .command("env")
    .description("print shell lines that use the registered builders in this shell only")
    .option("--shell <shell>", "sh or fish (default: from $SHELL)")
    .option(
      "--builder <name>",
      "only this builder (repeatable; default: every builder in the machines file)",
      (v: string, p: string[] = []) => [...p, v],
    )
    .addHelpText("after", `\nExamples:\n  $ eval "$(crossnix env)"\n  $ crossnix env --shell fish | source`)
    .action(lazy(() => import("./env.js")));
  program
    .command("doctor")
    .description(
      "check every way a remote build can break: local Nix, configuration, each builder as the daemon connects, a real build",
    )
    .option("--builder <name>", "check only this builder (local and configuration checks still run)")
    .option(
      "--fix",
      "apply the safe fixes as one plan: shows the diff, asks unless --yes (a changed host key is re-pinned only after you confirm it on a terminal)",
    )
    .option("--no-build", "skip the end-to-end builds")
    .addHelpText(
      "after",
      `
Each check has a stable id (e.g. builder.host-key), a status (ok, warn, fail, skip), what was seen
and a fix. Run it as root (sudo) to see what the Nix daemon sees; exit 1 if a check fails.

Examples:
  $ sudo crossnix doctor
  $ sudo crossnix doctor --builder big --no-build --timeout 5
  $ sudo crossnix doctor --fix
  $ crossnix doctor --json | jq '.checks[] | select(.status == "fail")'`,
    )
    .action(lazy(() => import("./doctor/index.js")));
  program
    .command("bench [builders...]")
    .description(
      "measure each builder (a fixed CPU-bound derivation 1 and N at a time, SSH round trip, copy rates); --calibrate sets what Nix's scheduler reads",
    )
    .option("--jobs <n>", "derivations at once in the parallel round (default: each entry's max-jobs)")
    .option("--runs <n>", "timed runs of each measurement (default 3)")
    .option(
      "--system <system>",
      "measure only this system of each builder (repeatable; default: all)",
      (v: string, p: string[] = []) => [...p, v],
    )
    .option("--iterations <n>", "shell-loop steps in one benchmark unit (default 750000, about 1 s)")
    .option(
      "--calibrate",
      "then set each entry's speed factor and max-jobs and the daemon's build-poll-interval from the figures, as a plan",
    )
    .option(
      "--poll-interval <s>",
      "with --calibrate: the build-poll-interval to write (default 1; 0 retries waiting builds whenever a build prints, for builds that print little)",
    )
    .option("--compare", "the same benchmark through every approach here: each SSH builder, this machine, emulation")
    .addHelpText(
      "after",
      `
Builds go through the Nix daemon on one builder at a time (--builders), so run it as root or a
trusted user. Results are appended to ~/.local/state/crossnix/bench.jsonl.

Examples:
  $ sudo crossnix bench
  $ sudo crossnix bench big --jobs 8 --runs 5 --json
  $ sudo crossnix bench --calibrate --dry-run
  $ sudo crossnix bench --compare`,
    )
    .action(lazy(() => import("./bench/index.js")));
  program
    .command("history")
    .description("list the plans crossnix applied on this machine (time, command, files, backups)")
    .addHelpText("after", "\nExamples:\n  $ crossnix history\n  $ crossnix history --json")
    .action(lazy(() => import("./history.js")));
  program
    .command("undo [id]")
    .description("put back the files of the last applied plan (or plan <id>) from its backups")
    .addHelpText(
      "after",
      "\nRefused, with the diff, when a file changed since the plan wrote it.\n\nExamples:\n  $ crossnix undo\n  $ crossnix undo 2026-12-02T17-40-01-123Z-4242 --dry-run",
    )
    .action(lazy(() => import("./undo.js")));
  const internal = program.command("internal", { hidden: true }).description("crossnix's own plumbing");
  internal
    .command("apply-plan <file>")
    .description("apply a plan file written by crossnix (used through sudo)")
    .option("--sha256 <digest>", "SHA-256 of the plan file, as the unprivileged crossnix wrote it")
    .action(lazy(() => import("./internal/apply-plan.js")));
  internal
    .command("restart-daemon")
    .description("restart a nix-daemon no service manager owns")
    .action(lazy(() => import("./internal/restart-daemon.js")));
}
