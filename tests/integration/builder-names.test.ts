// Builder names on every command that takes one: validated like `add --name`, never a path outside its directory.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

let root: string;
let victim: string;
const env = () => ({ CROSSNIX_ROOT: root, CROSSNIX_PLATFORM: "linux" });
const MACHINES = "ssh://nix@127.0.0.9 x86_64-linux - 1 1 - - - # crossnix:known\n";

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string) {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) {
        out[`${path.relative(dir, full)}/`] = "";
        await walk(full);
      } else out[path.relative(dir, full)] = await readFile(full, "utf8");
    }
  }
  await walk(dir);
  return out;
}

// A fresh root for every test: what one command wrongly writes must not hide another's.
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-names-"));
  await mkdir(path.join(root, "etc/nix"), { recursive: true });
  await writeFile(path.join(root, "etc/nix/machines"), MACHINES);
  await writeFile(path.join(root, "etc/nix/nix.conf"), "builders = @/etc/nix/machines\n");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeAll(async () => {
  victim = await mkdtemp(path.join(os.tmpdir(), "crossnix-victim-"));
  await writeFile(path.join(victim, "id_ed25519"), "not yours\n");
  await writeFile(path.join(victim, "id_ed25519.pub"), "not yours either\n");
});
afterAll(async () => {
  await rm(victim, { recursive: true, force: true });
});

describe("builder names", () => {
  it("remove refuses a name that climbs out of the keys directory, and deletes nothing", async () => {
    // root/etc/nix/crossnix + four '..' is the temp directory both live in.
    const name = `../../../../${path.basename(victim)}/id`;
    const before = await snapshot(root);
    const run = await runCli(["builder", "remove", name, "--yes"], { env: env() });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain("invalid builder name");
    expect((await stat(path.join(victim, "id_ed25519"))).isFile()).toBe(true);
    expect((await stat(path.join(victim, "id_ed25519.pub"))).isFile()).toBe(true);
    expect(await snapshot(root)).toEqual(before);
  });

  const bad = ["../x", "a/b", "-oProxyCommand=x", ".hidden", "a b", ""];
  const commands: [string, (name: string) => string[]][] = [
    ["remove", (n) => ["builder", "remove", n, "--yes"]],
    ["enable", (n) => ["builder", "enable", n, "--yes"]],
    ["disable", (n) => ["builder", "disable", n, "--yes"]],
    ["probe", (n) => ["builder", "probe", n]],
    ["doctor --builder", (n) => ["doctor", "--builder", n, "--no-build"]],
    ["build --builder", (n) => ["build", "--builder", n, "--", "--expr", "1"]],
    ["env --builder", (n) => ["env", "--builder", n]],
  ];
  for (const [label, argv] of commands) {
    it.each(bad)(`${label} rejects the name %j as bad input (exit 2, JSON error BAD_INPUT)`, async (name) => {
      const before = await snapshot(root);
      const run = await runCli(["--json", ...argv(name)], { env: env() });
      expect(run.code, run.stderr).toBe(2);
      // As an operand, '-o…' is an unknown option to the parser: a usage error, also exit 2.
      const code = (JSON.parse(run.stdout) as { error: { code: string } }).error.code;
      if (name.startsWith("-") && code === "USAGE") return;
      expect(code).toBe("BAD_INPUT");
      expect(run.stderr).toMatch(/invalid (builder name|--builder)/);
      expect(await snapshot(root)).toEqual(before);
    });
  }

  const unknown: [string, string[]][] = [
    ["enable", ["builder", "enable", "ghost", "--yes"]],
    ["disable", ["builder", "disable", "ghost", "--yes"]],
    ["probe", ["builder", "probe", "ghost"]],
    ["doctor --builder", ["doctor", "--builder", "ghost", "--no-build"]],
    ["build --builder", ["build", "--builder", "ghost", "--", "--expr", "1"]],
    ["env --builder", ["env", "--builder", "ghost"]],
  ];
  it.each(unknown)("%s of an unknown builder is NOT_FOUND, exit 2, with the same message", async (_label, argv) => {
    const run = await runCli(["--json", ...argv], { env: env() });
    expect(run.code, run.stderr).toBe(2);
    const doc = JSON.parse(run.stdout) as { error: { code: string; message: string; hint?: string } };
    expect(doc.error.code).toBe("NOT_FOUND");
    expect(doc.error.message).toBe("no builder named 'ghost'");
    expect(doc.error.hint).toContain("known");
  });

  it("remove of an unknown builder writes nothing (not even an empty ssh alias file) and exits 0", async () => {
    const before = await snapshot(root);
    const run = await runCli(["builder", "remove", "ghost", "--yes"], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("nothing to remove");
    expect(await snapshot(root)).toEqual(before);
  });
});
