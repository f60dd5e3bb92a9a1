// Declares `crossnix vm …` and its verbs for commander; handlers load only when run.
import type { Command } from "commander";
import type { LazyAction } from "../lazy.js";

export function registerVm(program: Command, lazy: LazyAction): void {
  const vm = program
    .command("vm")
    .description("a local Lima VM on this Mac as a Linux builder: create, start, stop, status, delete")
    .addHelpText(
      "after",
      `
Run these as yourself, not with sudo: Lima refuses to run as root (crossnix asks sudo only to write /etc).

Examples:
  $ brew install lima
  $ crossnix vm create                      nixbuilder: aarch64-linux + x86_64-linux (Rosetta)
  $ crossnix vm create big --cpus 8 --memory 16 --disk 200 --autostart login
  $ crossnix vm stop nixbuilder && crossnix build --start-vms .#packages.aarch64-linux.default
  $ crossnix vm delete nixbuilder`,
    );
  vm.command("create [name]")
    .description("create the VM, install Nix in it, register it as a builder (host key pinned), build once per system")
    .option("--cpus <n>", "virtual CPUs (1–64, default 4)")
    .option("--memory <GiB>", "memory in GiB (2–512, default 8)")
    .option("--disk <GiB>", "disk in GiB (20–4096, default 100)")
    .option("--rosetta", "run x86_64-linux binaries with Rosetta (default)")
    .option("--no-rosetta", "no Rosetta: aarch64-linux only")
    .option("--systems <list>", "comma-separated: aarch64-linux, x86_64-linux (default: both with Rosetta)")
    .option("--template <template>", "Lima template (default template://default, Ubuntu)")
    .option("--autostart <when>", "login, boot (Lima ≥ 2.2) or off (default)")
    .action(lazy(() => import("./create.js")));
  vm.command("start [name]")
    .description("start the VM and wait until its SSH answers (never creates one)")
    .action(lazy(() => import("./start.js")));
  vm.command("stop [name]")
    .description("stop the VM (builds then refuse until it is started again)")
    .action(lazy(() => import("./stop.js")));
  vm.command("status [name]")
    .description("Lima's view (status, CPUs, memory, disk, Rosetta) joined with the builder entry and SSH")
    .action(lazy(() => import("./status.js")));
  vm.command("list")
    .description("every Lima VM, marking the ones crossnix made")
    .action(lazy(() => import("./status.js")));
  vm.command("delete [name]")
    .description("remove the VM, its builder entry, ssh alias, pinned host key, autostart and record: nothing else")
    .action(lazy(() => import("./delete.js")));
}
