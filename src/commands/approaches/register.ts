// Declares status, native, migrate and init: the commands about which way this machine gets Linux builds.
import type { Command } from "commander";
import type { LazyAction } from "../lazy.js";

export function registerApproaches(program: Command, lazy: LazyAction): void {
  program
    .command("status")
    .description("which ways of getting Linux builds this machine has, whether each works, and who builds each system")
    .option("--probe", "also ask launchd and determinate-nixd, and connect to each builder")
    .addHelpText("after", "\nExamples:\n  $ crossnix status\n  $ crossnix status --probe --json | jq .bySystem")
    .action(lazy(() => import("./status.js")));
  const native = program
    .command("native")
    .description("Determinate Nix's native Linux builder (external builders, Determinate 3.8.4+)");
  native
    .command("status")
    .description("config.json's intent, what Nix really uses (external-builders), and why it differs")
    .action(lazy(() => import("./native-status.js")));
  native
    .command("enable")
    .description("enable the native builder in /etc/determinate/config.json, restart the daemon, check it took effect")
    .option("--memory <GiB>", "memory of the builder VM in GiB (builder.memoryBytes)")
    .option("--cpus <n>", "CPUs of the builder VM (builder.cpuCount; Determinate advises against changing it)")
    .action(lazy(() => import("./native-enable.js")));
  native
    .command("disable")
    .description("disable the native builder in /etc/determinate/config.json, restart the daemon, check it took effect")
    .action(lazy(() => import("./native-disable.js")));
  program
    .command("migrate")
    .description("move to another way of getting Linux builds: bring the new one up, prove it, then retire the old")
    .requiredOption("--to <approach>", "native, lima[:<vm name>], linux-builder or ssh:<user@host>")
    .option(
      "--from <approach>",
      "what to retire: manual, linux-builder, determinate-vm-builder, nix-rosetta-builder, virby, native, ssh:<name>, lima:<name>",
    )
    .option("--no-build", "do not prove the new approach with a build (it is then not retired from)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ crossnix migrate --from manual --to ssh:nix@box --dry-run\n  $ crossnix migrate --from linux-builder --to native",
    )
    .action(lazy(() => import("./migrate.js")));
  program
    .command("init")
    .description("set up Linux builds: detect, recommend an approach with reasons, show the plan, apply, run doctor")
    .option("--approach <approach>", "native, lima or ssh:<user@host> (skips the question)")
    .option("--no-doctor", "do not run doctor at the end")
    .addHelpText("after", "\nExamples:\n  $ crossnix init\n  $ crossnix init --yes --approach ssh:nix@box")
    .action(lazy(() => import("./init.js")));
}
