// Declares `crossnix emulate …` and its verbs for commander; handlers load only when run.
import type { Command } from "commander";
import type { LazyAction } from "../lazy.js";

export function registerEmulate(program: Command, lazy: LazyAction): void {
  const emulate = program
    .command("emulate")
    .description("build other Linux systems on this Linux machine through QEMU user emulation (binfmt_misc)")
    .addHelpText(
      "after",
      `
Linux hosts only: macOS has no binfmt_misc (use crossnix vm create or a remote builder there).
The default system is the other 64-bit Linux (aarch64-linux on x86_64, x86_64-linux on aarch64).

Examples:
  $ sudo apt-get install qemu-user-static binfmt-support
  $ crossnix emulate enable aarch64-linux
  $ crossnix emulate status
  $ crossnix emulate disable aarch64-linux`,
    );
  emulate
    .command("enable [systems...]")
    .description(
      "add the systems to extra-platforms (interpreters to the sandbox), restart the daemon, build to prove it",
    )
    .option("--no-build", "skip the proving build")
    .action(lazy(() => import("./enable.js")));
  emulate
    .command("disable [systems...]")
    .description("take the systems out of extra-platforms and restart the daemon")
    .action(lazy(() => import("./disable.js")));
  emulate
    .command("status [systems...]")
    .description("binfmt_misc interpreters, extra-platforms and the sandbox, per system")
    .action(lazy(() => import("./status.js")));
}
