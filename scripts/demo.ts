// The crossnix demo: a throwaway builder (its own sshd on 127.0.0.2 and its own /nix store, with
// aarch64-linux through qemu-user), registered with `crossnix builder add`, checked with
// `crossnix doctor`, used by `crossnix build` for a real aarch64-linux derivation, then removed.
// crossnix runs inside the test bed's sandbox root, so it writes /etc/nix and /etc/ssh at their
// real paths without touching this machine's own.
import * as fs from "node:fs";
import path from "node:path";
import { BUSYBOX_DIR, clientIdentity, createSandbox, newNonce, startBuilders, stopAll } from "#testbed";

const REPO = path.resolve(import.meta.dirname, "..");
const CLI = path.join(REPO, "dist/cli.js");
const bold = (s: string) => (process.stdout.isTTY ? `\u001b[1m${s}\u001b[0m` : s);

async function main(): Promise<number> {
  console.log(
    bold("Starting a throwaway builder (sshd on 127.0.0.2:2201, its own /nix store, aarch64-linux via qemu)…"),
  );
  const [builder] = await startBuilders([{ systems: ["x86_64-linux", "aarch64-linux"] }]);
  const sandbox = await createSandbox({ nixConf: "max-jobs = 0" });
  // Your own SSH login to the builder, as you would have one: crossnix uses it once to install
  // the Nix daemon's dedicated key (--copy-key).
  sandbox.writeFile("/root/.ssh/id_ed25519", fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8"), 0o600);

  const step = async (title: string, args: string[], okCodes = [0]) => {
    console.log(`\n${bold(`$ crossnix ${args.join(" ")}`)}  # ${title}`);
    const run = await sandbox.run([process.execPath, CLI, ...args], { timeoutMs: 300_000 });
    // Progress went to stderr while it ran; show it before the result.
    process.stdout.write(run.stderr);
    process.stdout.write(run.stdout);
    if (!okCodes.includes(run.exitCode ?? -1)) throw new Error(`crossnix ${args[0]} exited with ${run.exitCode}`);
    return run;
  };

  await step("register it: key, pinned host key, ssh alias, machines entry, settings", [
    "builder",
    "add",
    `${builder!.user}@${builder!.address}:${builder!.port}`,
    "--name",
    "demo",
    "--copy-key",
    "--yes",
  ]);
  await step("what Nix will use", ["builder", "list"]);
  if (
    fs.existsSync(path.join(REPO, "dist/commands/doctor.js")) ||
    fs.existsSync(path.join(REPO, "dist/commands/doctor/index.js"))
  ) {
    await step("check everything, including a real build on each system", ["doctor"]);
  }
  const fleet = path.join(REPO, "tests/fixtures/nix/fleet.nix");
  const built = await step("build an aarch64-linux derivation through the builder", [
    "build",
    "--",
    "-f",
    fleet,
    "arm",
    "--argstr",
    "nonce",
    newNonce(),
    "--arg",
    "busybox",
    BUSYBOX_DIR,
    "--no-link",
  ]);
  const out = built.stdout.split("\n").find((l) => l.startsWith("/nix/store/"));
  if (out)
    console.log(
      `\n${bold("The output, written on the builder by arm64 busybox:")} ${fs.readFileSync(out, "utf8").trim()}`,
    );
  await step("clean up: entry, alias and the key crossnix made", ["builder", "remove", "demo", "--yes"]);
  return 0;
}

main()
  .then(async (code) => {
    await stopAll();
    console.log(`\n${bold("Demo finished: the builder, its store and every process it started are gone.")}`);
    process.exit(code);
  })
  .catch(async (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    await stopAll();
    process.exit(1);
  });
