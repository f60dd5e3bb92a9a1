// builder add/list/disable/enable/remove through the real CLI on a fixture root, no network.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

/**
 * The builder commands against a fixture root (CROSSNIX_ROOT), with a builder that is not
 * reachable now: `--no-probe --host-key` makes no connection, so every byte written is checked
 * here without a network. The real-SSH behaviour is in builder-fleet.test.ts.
 */
let root: string;
let hostKeyB64: string;
const MACHINES = "# hand-written, keep me\nssh://old@legacy x86_64-linux - 2 1 big-parallel\n\n# trailing comment\n";
const NIX_CONF = "# upstream nix.conf\nbuild-users-group = nixbld\nbuilders = @/etc/nix/other-machines\n";
const SSH_CONFIG = "Host *\n  SendEnv LANG\nInclude /etc/ssh/ssh_config.d/*.conf\n\nHost taken\n  HostName 127.0.0.9\n";

async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out[path.relative(root, full)] = await readFile(full, "utf8");
    }
  }
  await walk(root);
  return out;
}

const env = () => ({ CROSSNIX_ROOT: root, CROSSNIX_PLATFORM: "linux" });
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
      "--system",
      "aarch64-linux",
      "--max-jobs",
      "4",
      "--feature",
      "big-parallel",
      "--no-probe",
      "--host-key",
      hostKeyB64,
      ...extra,
    ],
    { env: env() },
  );

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-offline-"));
  await mkdir(path.join(root, "etc/nix"), { recursive: true });
  await mkdir(path.join(root, "etc/ssh"), { recursive: true });
  await writeFile(path.join(root, "etc/nix/machines"), MACHINES);
  await writeFile(path.join(root, "etc/nix/nix.conf"), NIX_CONF);
  await writeFile(path.join(root, "etc/ssh/ssh_config"), SSH_CONFIG);
  const keyDir = await mkdtemp(path.join(os.tmpdir(), "crossnix-hostkey-"));
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(keyDir, "k")]);
  const pub = (await readFile(path.join(keyDir, "k.pub"), "utf8")).split(" ").slice(0, 2).join(" ");
  hostKeyB64 = Buffer.from(pub).toString("base64");
  await rm(keyDir, { recursive: true });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("builder add/list/disable/enable/remove on a fixture root", () => {
  it("--dry-run shows the plan and writes nothing", async () => {
    const before = await snapshot();
    const run = await add("--dry-run");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("+++ b/etc/nix/machines");
    expect(run.stdout).toContain("ssh-keygen -q -t ed25519");
    expect(run.stdout).toContain("Dry run: nothing was written.");
    expect(await snapshot()).toEqual(before);
  });

  it("without a terminal and without --yes it prints the plan, writes nothing and exits 1", async () => {
    const before = await snapshot();
    const run = await add();
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("Add builder 'big'");
    expect(run.stderr).toContain("re-run with --yes");
    expect(await snapshot()).toEqual(before);
  });

  it("asks on a terminal and a 'n' answer writes nothing", async () => {
    const before = await snapshot();
    const run = await runCli(
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
      ],
      {
        env: { ...env(), CROSSNIX_ASSUME_TTY: "1" },
        input: "n\n",
      },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Apply these changes?");
    expect(await snapshot()).toEqual(before);
  });

  it("--yes writes the key, alias, entry and settings, leaving every other byte alone", async () => {
    const run = await add("--yes");
    expect(run.code, run.stderr).toBe(0);
    const machines = await readFile(path.join(root, "etc/nix/machines"), "utf8");
    expect(machines.startsWith(MACHINES)).toBe(true);
    const added = machines.slice(MACHINES.length);
    expect(added).toBe(
      `ssh-ng://big x86_64-linux,aarch64-linux /etc/nix/crossnix/big_ed25519 4 - big-parallel - ${hostKeyB64} # crossnix:big\n`,
    );
    const conf = await readFile(path.join(root, "etc/nix/nix.conf"), "utf8");
    expect(conf).toContain("builders = @/etc/nix/other-machines ;@/etc/nix/machines");
    expect(conf).toContain("builders-use-substitutes = true");
    expect(conf.startsWith("# upstream nix.conf\nbuild-users-group = nixbld\n")).toBe(true);
    const alias = await readFile(path.join(root, "etc/ssh/ssh_config.d/crossnix.conf"), "utf8");
    expect(alias).toMatch(/^Host big$/m);
    expect(alias).toMatch(/^\s+HostName 127\.0\.0\.5$/m);
    expect(alias).toMatch(/^\s+Port 2205$/m);
    expect(alias).toMatch(/^\s+User nix$/m);
    expect(alias).toMatch(/^\s+HostKeyAlias big$/m);
    expect(alias).not.toMatch(/StrictHostKeyChecking|UserKnownHostsFile/);
    const key = await stat(path.join(root, "etc/nix/crossnix/big_ed25519"));
    expect(key.mode & 0o777).toBe(0o600);
    expect(key.uid).toBe(process.getuid?.());
  });

  it("re-adding is a no-op", async () => {
    const before = await snapshot();
    const run = await add("--yes");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Nothing to change");
    expect(await snapshot()).toEqual(before);
  });

  it("lists crossnix's and hand-written entries with file and line", async () => {
    const run = await runCli(["builder", "list", "--json"], { env: env() });
    expect(run.code).toBe(0);
    const { builders } = JSON.parse(run.stdout) as { builders: Record<string, unknown>[] };
    expect(builders).toHaveLength(2);
    expect(builders[0]).toMatchObject({ name: "legacy", managed: false, enabled: true, line: 2, maxJobs: 2 });
    expect(builders[1]).toMatchObject({
      name: "big",
      managed: true,
      enabled: true,
      uri: "ssh-ng://big",
      systems: ["x86_64-linux", "aarch64-linux"],
      maxJobs: 4,
      speedFactor: 1,
      features: ["big-parallel"],
      file: "/etc/nix/machines",
      line: 5,
    });
    expect(builders[1]!["hostKeyFingerprint"]).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it("disable comments the entry out; enable restores the exact bytes; both are idempotent", async () => {
    const enabled = await readFile(path.join(root, "etc/nix/machines"), "utf8");
    expect((await runCli(["builder", "disable", "big", "--yes"], { env: env() })).code).toBe(0);
    const disabled = await readFile(path.join(root, "etc/nix/machines"), "utf8");
    expect(disabled).not.toBe(enabled);
    expect(disabled.startsWith(MACHINES)).toBe(true);
    expect(disabled.slice(MACHINES.length)).toMatch(/^#/);
    const again = await runCli(["builder", "disable", "big", "--yes"], { env: env() });
    expect(again.stdout).toContain("already disabled");
    const listed = JSON.parse((await runCli(["builder", "list", "--json"], { env: env() })).stdout) as {
      builders: { enabled: boolean }[];
    };
    expect(listed.builders[1]!.enabled).toBe(false);
    expect((await runCli(["builder", "enable", "big", "--yes"], { env: env() })).code).toBe(0);
    expect(await readFile(path.join(root, "etc/nix/machines"), "utf8")).toBe(enabled);
  });

  it("refuses to touch an entry crossnix did not write", async () => {
    const before = await snapshot();
    const run = await runCli(["builder", "remove", "legacy", "--yes"], { env: env() });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("was not written by crossnix");
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    [["nix@bad host"], "destination"],
    [["nix@h", "--system", "arm64-linux", "--no-probe"], "--system"],
    [["nix@h", "--max-jobs", "0", "--no-probe", "--system", "x86_64-linux"], "--max-jobs"],
    [["nix@h", "--speed-factor", "-1", "--no-probe", "--system", "x86_64-linux"], "--speed-factor"],
    [["nix@h", "--feature", "a,b", "--no-probe", "--system", "x86_64-linux"], "--feature"],
    [["nix@h", "--name", "taken", "--no-probe", "--system", "x86_64-linux"], "--name"],
  ])("bad input %j exits 2 naming %s and writes nothing", async (args, field) => {
    const before = await snapshot();
    const run = await runCli(["builder", "add", ...args, "--yes"], { env: env() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(field);
    expect(await snapshot()).toEqual(before);
  });

  it("remove takes out the entry, alias and the key crossnix made; a second remove is a no-op", async () => {
    const run = await runCli(["builder", "remove", "big", "--yes"], { env: env() });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("secret contents not shown");
    expect(await readFile(path.join(root, "etc/nix/machines"), "utf8")).toBe(MACHINES);
    expect(await readFile(path.join(root, "etc/ssh/ssh_config.d/crossnix.conf"), "utf8")).toBe("");
    await expect(stat(path.join(root, "etc/nix/crossnix/big_ed25519"))).rejects.toThrow();
    const again = await runCli(["builder", "remove", "big", "--yes"], { env: env() });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to remove");
  });

  it.each([
    ["/etc/nix/machines", "ssh://ok x86_64-linux - eight\n", /\/etc\/nix\/machines:1:\d+: .*'unsigned int'.*'eight'/],
    [
      "/etc/nix/nix.conf",
      "builders=@/etc/nix/machines\n",
      /\/etc\/nix\/nix\.conf:1:\d+: .*'builders=@\/etc\/nix\/machines'/,
    ],
    ["/etc/ssh/ssh_config.d/crossnix.conf", "Host big\n  Port\n", /crossnix\.conf:2:\d+: .*' {2}Port'/],
  ])(
    "a malformed %s is reported at file:line:column with the text, exit 2, nothing written",
    async (file, text, message) => {
      const real = path.join(root, file);
      const saved = await readFile(real, "utf8").catch(() => null);
      await mkdir(path.dirname(real), { recursive: true });
      await writeFile(real, text);
      try {
        const before = await snapshot();
        const run = await add("--yes");
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(message);
        expect(await snapshot()).toEqual(before);
      } finally {
        if (saved === null) await rm(real);
        else await writeFile(real, saved);
      }
    },
  );

  it("--json keeps stdout to one document", async () => {
    const run = await add("--dry-run", "--json");
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as { plan: { files: { path: string }[] }; applied: boolean };
    expect(doc.applied).toBe(false);
    expect(doc.plan.files.map((f) => f.path)).toContain("/etc/nix/machines");
  });
});
