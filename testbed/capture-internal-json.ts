// Records real `nix build --log-format internal-json` streams from the test bed's Nix (2.8) as
// fixtures for the build view: a DAG over two ssh-ng builders with a substituted path and a failure.
// Usage: tb-lock npx tsx testbed/capture-internal-json.ts <out-dir>
import * as fs from "node:fs";
import path from "node:path";
import { clientIdentity, createSandbox, newNonce, type Sandbox, startBuilders, stopAll } from "./index.js";

const REPO = path.resolve(import.meta.dirname, "..");
const VIEW_NIX = path.join(REPO, "tests/fixtures/nix/view.nix");
const NIX = ["nix", "--extra-experimental-features", "nix-command"];

/** A line-stamping wrapper run inside the sandbox: each stderr line of the command becomes {t, line}. */
const STAMPER = `
const { spawn } = require("node:child_process");
const readline = require("node:readline");
const t0 = Date.now();
const [cmd, ...args] = process.argv.slice(2);
const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
readline.createInterface({ input: child.stderr }).on("line", (line) =>
  process.stdout.write(JSON.stringify({ t: Date.now() - t0, line }) + "\\n"));
const interruptMs = Number(process.env.INTERRUPT_MS || 0);
if (interruptMs) setTimeout(() => child.kill("SIGINT"), interruptMs);
child.on("exit", (code) => process.stdout.write(JSON.stringify({ t: Date.now() - t0, exit: code }) + "\\n"));
`;

async function record(sandbox: Sandbox, file: string, argv: string[], interruptMs = 0): Promise<void> {
  const stamper = "/home/cxclient/stamp.cjs";
  sandbox.writeFile(stamper, STAMPER, 0o644);
  const run = await sandbox.run([process.execPath, stamper, ...argv], {
    timeoutMs: 120_000,
    env: { INTERRUPT_MS: String(interruptMs) },
  });
  fs.writeFileSync(file, run.stdout);
  console.log(`${path.basename(file)}: ${run.stdout.split("\n").length - 1} lines`);
}

async function main(): Promise<void> {
  const out = path.resolve(process.argv[2] ?? "tests/fixtures/internal-json");
  const builders = await startBuilders([
    { systems: ["x86_64-linux"], maxJobs: 2 },
    { systems: ["x86_64-linux"], maxJobs: 2 },
  ]);
  const sandbox = await createSandbox({ nixConf: "max-jobs = 0" });
  sandbox.writeFile("/root/.ssh/id_ed25519", fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8"), 0o600);
  sandbox.writeFile(
    "/etc/ssh/ssh_config.d/crossnix.conf",
    builders
      .map(
        (b) =>
          `Host ${b.name}\n  HostName ${b.address}\n  Port ${b.port}\n  User ${b.user}\n  HostKeyAlias ${b.name}\n`,
      )
      .join(""),
  );
  const machines = (scheme: string) =>
    builders.map((b, _i) => `${scheme}://${b.name} x86_64-linux - 2 1 - - ${b.hostKeyBase64}\n`).join("");
  const cacheDir = path.join(sandbox.tmpDir, "view-cache");

  for (const scheme of ["ssh-ng", "ssh"]) {
    sandbox.writeFile("/etc/nix/machines", machines(scheme));
    sandbox.writeFile(
      "/etc/nix/nix.conf",
      `${sandbox.readFile("/etc/nix/nix.conf").replace(/^builders = .*\n/m, "")}builders = @/etc/nix/machines\n`,
    );
    await sandbox.restartDaemon();
    for (const variant of ["keep-going", "stop-on-failure", "interrupted"] as const) {
      if (variant === "interrupted" && scheme !== "ssh-ng") continue;
      const keepGoing = variant === "keep-going";
      const nonce = newNonce();
      const cacheNonce = newNonce();
      const args = ["-f", VIEW_NIX, "--argstr", "nonce", nonce, "--argstr", "cacheNonce", cacheNonce];
      // The cached derivation: built, copied to a file:// cache, deleted from the local store.
      const built = await sandbox.run([...NIX, "build", "--no-link", "--json", ...args, "cached"]);
      const cachedPath =
        built.exitCode === 0
          ? String((JSON.parse(built.stdout) as { outputs: { out: string } }[])[0]?.outputs.out)
          : "";
      if (!cachedPath.startsWith("/nix/store/")) throw new Error(`cached build failed: ${built.stderr}`);
      const copy = await sandbox.run([...NIX, "copy", "--to", `file://${cacheDir}?compression=none`, cachedPath]);
      if (copy.exitCode !== 0) throw new Error(copy.stderr);
      const del = await sandbox.run(["nix-store", "--delete", cachedPath]);
      if (del.exitCode !== 0) throw new Error(del.stderr);
      const name = `nix-2.8-${scheme}-${variant}.jsonl`;
      await record(
        sandbox,
        path.join(out, name),
        [
          ...NIX,
          "build",
          "--no-link",
          "--log-format",
          "internal-json",
          ...(keepGoing ? ["--keep-going"] : []),
          "--option",
          "extra-substituters",
          `file://${cacheDir}?trusted=1`,
          ...args,
          variant === "interrupted" ? "ok" : "all",
        ],
        variant === "interrupted" ? 1500 : 0,
      );
    }
  }
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
