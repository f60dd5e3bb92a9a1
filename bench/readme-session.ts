// Prints the README's `crossnix bench` session from the loopback test bed: `big` (x86_64 and
// aarch64) and `small` (held to a quarter CPU by a cgroup quota), both with passwordless sudo for
// their SSH user so calibration's `cores` plans for the builders show. Run: tb-lock npx tsx bench/readme-session.ts
import * as fs from "node:fs";
import {
  assertTestbedReady,
  type Builder,
  clientIdentity,
  createSandbox,
  limitCpu,
  startBuilders,
  stopAll,
} from "#testbed";
import { crossnixIn } from "../tests/helpers/sandbox-cli.js";

const KEY = "/etc/nix/demo_ed25519";

async function main() {
  assertTestbedReady();
  const [big, small] = (await startBuilders([
    { systems: ["x86_64-linux", "aarch64-linux"], sudo: true },
    { systems: ["x86_64-linux"], sudo: true },
  ])) as [Builder, Builder];
  const sandbox = await createSandbox({ nixConf: "max-jobs = 0" });
  const identity = fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8");
  sandbox.writeFile(KEY, identity, 0o600);
  // root's own SSH login: what the plans for the builders' own nix.conf connect with.
  sandbox.writeFile("/root/.ssh/id_ed25519", identity, 0o600);
  const crossnix = async (args: string[]) => {
    const r = await crossnixIn(sandbox, args, { timeoutMs: 900_000 });
    if (r.exitCode !== 0) throw new Error(`crossnix ${args.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
    return r.stdout;
  };
  for (const [b, name] of [
    [big, "big"],
    [small, "small"],
  ] as const) {
    await crossnix(["builder", "add", `${b.user}@${b.address}:${b.port}`, "--name", name, "--identity", KEY, "--yes"]);
  }
  const quota = limitCpu(small, 0.25);
  try {
    for (const args of [
      ["bench", "--runs", "3"],
      ["bench", "--calibrate", "--dry-run", "--runs", "3", "--system", "x86_64-linux"],
    ]) {
      process.stdout.write(`$ sudo crossnix ${args.join(" ")}\n${await crossnix(args)}\n`);
    }
  } finally {
    quota.remove();
    await stopAll();
  }
}

main().catch(async (error: unknown) => {
  console.error(error);
  await stopAll().catch(() => {});
  process.exit(1);
});
