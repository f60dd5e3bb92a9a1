// Bad input in a configuration file is exit 2 whatever is wrong with it (README: "2 bad usage or bad input").
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

let root: string;
let hostKeyB64: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-conferr-"));
  await mkdir(path.join(root, "etc/nix"), { recursive: true });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(root, "hostkey")]);
  const pub = (await readFile(path.join(root, "hostkey.pub"), "utf8")).split(" ").slice(0, 2).join(" ");
  hostKeyB64 = Buffer.from(pub).toString("base64");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const add = () =>
  runCli(
    [
      "--json",
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
    ],
    {
      env: { CROSSNIX_ROOT: root, CROSSNIX_PLATFORM: "linux" },
    },
  );

describe("nix.conf includes", () => {
  it("a missing include is bad input: exit 2", async () => {
    await writeFile(path.join(root, "etc/nix/nix.conf"), "include /etc/nix/nope.conf\n");
    const run = await add();
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain("'/etc/nix/nope.conf' included from '/etc/nix/nix.conf' not found");
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: "NOT_FOUND" } });
  });

  it("an include cycle is bad input: exit 2", async () => {
    await writeFile(path.join(root, "etc/nix/nix.conf"), "include /etc/nix/a.conf\n");
    await writeFile(path.join(root, "etc/nix/a.conf"), "include /etc/nix/nix.conf\n");
    const run = await add();
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain("include cycle");
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: "PARSE" } });
  });
});
