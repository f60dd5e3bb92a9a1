// `builder add --identity` (and an existing dedicated key) must be a key the Nix daemon can use, or exit 2 saying why.
import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

let root: string;
let hostKeyB64: string;

function keygen(file: string, passphrase = ""): void {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-f", path.join(root, file)]);
}

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-identity-"));
  await mkdir(path.join(root, "etc/nix"), { recursive: true });
  await mkdir(path.join(root, "keys"), { recursive: true });
  keygen("hostkey");
  const pub = (await readFile(path.join(root, "hostkey.pub"), "utf8")).split(" ").slice(0, 2).join(" ");
  hostKeyB64 = Buffer.from(pub).toString("base64");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const add = (...extra: string[]) =>
  runCli(
    [
      "builder",
      "add",
      "nix@127.0.0.5:2205",
      "--name",
      "big",
      "--system",
      "x86_64-linux",
      "--no-probe",
      "--host-key",
      hostKeyB64,
      "--dry-run",
      ...extra,
    ],
    {
      env: { CROSSNIX_ROOT: root, CROSSNIX_PLATFORM: "linux" },
    },
  );

describe("builder add --identity", () => {
  it("accepts a passphrase-less private key only its owner can read", async () => {
    keygen("keys/good");
    const run = await add("--identity", "/keys/good");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("/keys/good");
  });

  it("refuses a key other users can read, with the chmod fix", async () => {
    keygen("keys/open");
    await chmod(path.join(root, "keys/open"), 0o644);
    const run = await add("--identity", "/keys/open");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("invalid --identity '/keys/open'");
    expect(run.stderr).toMatch(/readable by other users \(mode 0?644\)/);
    expect(run.stderr).toContain("chmod 600 /keys/open");
  });

  it("refuses a passphrase-protected key", async () => {
    keygen("keys/locked", "secret");
    const run = await add("--identity", "/keys/locked");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("passphrase");
  });

  it("refuses a directory", async () => {
    const run = await add("--identity", "/keys");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("is a directory");
  });

  it("refuses a public key", async () => {
    keygen("keys/pair");
    await chmod(path.join(root, "keys/pair.pub"), 0o600);
    const run = await add("--identity", "/keys/pair.pub");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("public key");
    expect(run.stderr).toContain("/keys/pair");
  });

  it("refuses a file that is not a private key", async () => {
    await writeFile(path.join(root, "keys/notes"), "hello\n", { mode: 0o600 });
    const run = await add("--identity", "/keys/notes");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("not a private key");
  });

  it("refuses a relative path", async () => {
    keygen("keys/good");
    const run = await add("--identity", "keys/good");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("absolute");
  });

  it("refuses a directory where the dedicated key would be", async () => {
    await mkdir(path.join(root, "etc/nix/crossnix/big_ed25519"), { recursive: true });
    const run = await add();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("/etc/nix/crossnix/big_ed25519");
    expect(run.stderr).toContain("is a directory");
  });
});
