// Every applied plan is journaled and undoable: `builder add` then `crossnix undo` gives back the
// identical bytes, modes and owners (the key ssh-keygen made is removed too); a file changed since
// makes undo refuse with the diff and write nothing.
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { addOffline } from "../helpers/offline-add.js";

const isRoot = process.getuid?.() === 0;
let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-undo-"));
  await mkdir(path.join(root, "etc/nix"), { recursive: true });
  await mkdir(path.join(root, "etc/ssh/ssh_config.d"), { recursive: true });
  await writeFile(path.join(root, "etc/nix/nix.conf"), Buffer.from("# mine: caf\xe9\nmax-jobs = 2\n", "latin1"));
  await chmod(path.join(root, "etc/nix/nix.conf"), 0o640);
  if (isRoot) await chown(path.join(root, "etc/nix/nix.conf"), 1234, 5678);
  await writeFile(path.join(root, "etc/nix/machines"), "ssh://old@legacy x86_64-linux\n");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const env = () => ({ CROSSNIX_ROOT: root, CROSSNIX_PLATFORM: "linux" });
const cli = (...args: string[]) => runCli(args, { env: env() });
const add = () => addOffline(root, "b");

/** Every file with its bytes, mode and owner, leaving out crossnix's own records (backups, history, lock). */
async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of (await readdir(root, { recursive: true })) as string[]) {
    if (/^etc\/nix\/crossnix\/(backups|history|\.lock)/.test(rel)) continue;
    const info = await lstat(path.join(root, rel));
    if (!info.isFile()) continue;
    const bytes = await readFile(path.join(root, rel));
    out[rel] = `${(info.mode & 0o7777).toString(8)} ${info.uid}:${info.gid} ${bytes.toString("base64")}`;
  }
  return out;
}

describe("crossnix history and undo", () => {
  it("add then undo gives back identical bytes, modes and owners, and removes the key ssh-keygen made", async () => {
    const before = await snapshot();
    const added = await add();
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/Undo with: crossnix undo \S+/);
    const during = await snapshot();
    expect(Object.keys(during)).toEqual(
      expect.arrayContaining([
        "etc/nix/crossnix/b_ed25519",
        "etc/nix/crossnix/b_ed25519.pub",
        "etc/ssh/ssh_config.d/crossnix.conf",
      ]),
    );

    const history = await cli("history", "--json");
    const plans = (
      JSON.parse(history.stdout) as { plans: { id: string; outcome: string; files: { path: string }[] }[] }
    ).plans;
    expect(plans).toHaveLength(1);
    expect(plans[0]?.outcome).toBe("applied");
    expect(plans[0]?.files.map((f) => f.path)).toEqual(
      expect.arrayContaining(["/etc/nix/machines", "/etc/nix/nix.conf", "/etc/nix/crossnix/b_ed25519"]),
    );

    const undone = await cli("undo", "--yes");
    expect(undone.code, undone.stderr).toBe(0);
    expect(undone.stdout).toContain(`Undo 'Add builder 'b' (x86_64-linux)' (${plans[0]?.id})`);
    expect(await snapshot()).toEqual(before);
  });

  it("refuses, with the diff, when a file changed since the plan wrote it, and writes nothing", async () => {
    expect((await add()).code).toBe(0);
    const machines = path.join(root, "etc/nix/machines");
    await writeFile(machines, `${await readFile(machines, "utf8")}ssh://hand@edit aarch64-linux\n`);
    const before = await snapshot();
    const refused = await cli("undo", "--yes", "--json");
    expect(refused.code).toBe(1);
    const error = (JSON.parse(refused.stdout) as { error: { code: string; detail: { changedSince: string[] } } }).error;
    expect(error.code).toBe("CONFLICT");
    expect(error.detail.changedSince.join("\n")).toContain("+ssh://hand@edit aarch64-linux");
    expect(await snapshot()).toEqual(before);
  });

  it("--dry-run shows the undo plan and changes nothing; an unknown id is exit 2", async () => {
    expect((await add()).code).toBe(0);
    const before = await snapshot();
    const dry = await cli("undo", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("/etc/nix/machines");
    expect(await snapshot()).toEqual(before);
    const unknown = await cli("undo", "no-such-plan");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no applied plan no-such-plan");
  });
});
