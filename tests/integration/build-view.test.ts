// The build view against real Nix 2.8 on the test bed: a DAG over two builders with a path
// substituted from a file:// cache made by `nix copy`, a failure and a derivation that needs it;
// the non-TTY lines are asserted one by one, then Ctrl-C is sent to a real crossnix build.
import * as fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertTestbedReady,
  type Builder,
  clientIdentity,
  createSandbox,
  newNonce,
  type Sandbox,
  startBuilders,
} from "#testbed";
import { useTestBed } from "#testbed/vitest";
import { CLI, REPO } from "../helpers/cli.js";
import { crossnixIn } from "../helpers/sandbox-cli.js";

const ready = useTestBed();
const KEY = "/etc/nix/testbed_client_ed25519";
const VIEW = path.join(REPO, "tests/fixtures/nix/view.nix");
const NIX = ["nix", "--extra-experimental-features", "nix-command"];
const STAMP = /^\d\d:\d\d:\d\d /;

describe.skipIf(!ready)("the build view on the test bed", () => {
  let builders: Builder[];
  let sandbox: Sandbox;
  const crossnix = (args: string[]) => crossnixIn(sandbox, args, { timeoutMs: 120_000 });

  beforeAll(async () => {
    assertTestbedReady();
    builders = await startBuilders([
      { systems: ["x86_64-linux"], maxJobs: 2 },
      { systems: ["x86_64-linux"], maxJobs: 2 },
    ]);
    sandbox = await createSandbox({ nixConf: "max-jobs = 0" });
    sandbox.writeFile(KEY, fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8"), 0o600);
    for (const [i, b] of builders.entries()) {
      const add = await crossnix([
        "builder",
        "add",
        `${b.user}@${b.address}:${b.port}`,
        "--name",
        `b${i + 1}`,
        "--identity",
        KEY,
        "--yes",
      ]);
      expect(add.exitCode, add.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it("reports every change on its own line with true timings, a fetch, a failure and what never ran", async () => {
    const nonce = newNonce();
    const cacheNonce = newNonce();
    const args = ["-f", VIEW, "--argstr", "nonce", nonce, "--argstr", "cacheNonce", cacheNonce];
    // The path to substitute: built, copied to a file:// binary cache, deleted from the local store.
    const cache = `${sandbox.tmpDir}/view-cache`;
    const built = await sandbox.run([...NIX, "build", "--no-link", "--json", ...args, "cached"]);
    expect(built.exitCode, built.stderr).toBe(0);
    const cachedPath = (JSON.parse(built.stdout) as { outputs: { out: string } }[])[0]!.outputs.out;
    expect((await sandbox.run([...NIX, "copy", "--to", `file://${cache}?compression=none`, cachedPath])).exitCode).toBe(
      0,
    );
    expect((await sandbox.run(["nix-store", "--delete", cachedPath])).exitCode).toBe(0);

    const run = await crossnix([
      "build",
      "--no-color",
      "--",
      ...args,
      "all",
      "--keep-going",
      "--no-link",
      "--option",
      "extra-substituters",
      `file://${cache}?trusted=1`,
    ]);
    expect(run.exitCode, run.stderr).toBe(1);
    const lines = run.stderr.split("\n").filter((l) => STAMP.test(l));
    const text = lines.map((l) => l.slice(9));
    const at = (pattern: RegExp) => text.findIndex((l) => pattern.test(l));

    expect(text[0]).toMatch(/^↓ cx-view-cached from file:\/\/\/.*view-cache$/);
    for (const leaf of ["cx-view-0", "cx-view-1", "cx-view-2", "cx-view-joined"]) {
      const started = at(new RegExp(`^▸ ${leaf} on (b1|b2)$`));
      const done = at(new RegExp(`^✓ ${leaf} on (b1|b2) (\\d+\\.\\d) s$`));
      expect(started, `${leaf} started:\n${text.join("\n")}`).toBeGreaterThan(-1);
      expect(done, `${leaf} done:\n${text.join("\n")}`).toBeGreaterThan(started);
      // Same builder in both lines; each derivation sleeps 2 s on it.
      expect(text[done]!.split(" ")[3]).toBe(text[started]!.split(" ")[3]);
      const seconds = Number(/ (\d+\.\d) s$/.exec(text[done]!)![1]);
      expect(seconds, leaf).toBeGreaterThanOrEqual(2.0);
      expect(seconds, leaf).toBeLessThanOrEqual(3.5);
    }
    // The join starts only after the three leaves it needs are back.
    const joinStart = at(/^▸ cx-view-joined on/);
    for (const leaf of ["cx-view-0", "cx-view-1", "cx-view-2"])
      expect(at(new RegExp(`^✓ ${leaf} on`))).toBeLessThan(joinStart);
    expect(at(/^✗ cx-view-failing failed on b[12] after \d+\.\d s$/)).toBeGreaterThan(
      at(/^▸ cx-view-failing on b[12]$/),
    );
    expect(text.at(-1)).toBe("○ cx-view-after-failing not started: 1 dependency failed");
    // Nothing else: one line per state change.
    expect(text).toHaveLength(1 + 4 * 2 + 2 + 1 + text.filter((l) => l.includes("waiting for a free builder")).length);

    expect(run.stderr).toMatch(/^Built 4: \d on b\d(, \d on b\d)?$/m);
    expect(run.stderr).toMatch(/^Fetched 1 path \(\d+ B\) from file:\/\/\/.*view-cache$/m);
    expect(run.stderr).toMatch(/^Failed 1: cx-view-failing on b[12]$/m);
    expect(run.stderr).toMatch(/^Not finished 1: cx-view-after-failing \(1 dependency failed\)$/m);

    // The run is in the history, and `crossnix builds` reports on it.
    const report = await crossnix(["builds", "--json"]);
    const doc = JSON.parse(report.stdout) as { builders: { name: string; builds: number; failed: number }[] };
    expect(doc.builders.reduce((s, b) => s + b.builds, 0)).toBe(5);
    expect(doc.builders.reduce((s, b) => s + b.failed, 0)).toBe(1);
  });

  it("Ctrl-C stops Nix and every build it started, lists what did not finish, and exits 130", async () => {
    // A wrapper in the sandbox plays the terminal: it starts crossnix in its own process group,
    // waits until both builders are busy, sends SIGINT to that group (as a terminal's Ctrl-C does)
    // and then reports crossnix's exit code and whether nix's process group is gone.
    const wrapper = `
const { spawn, execFileSync } = require("node:child_process");
const child = spawn(process.execPath, ${JSON.stringify([CLI])}.concat(process.argv.slice(2)), { stdio: ["ignore", "pipe", "pipe"], detached: true });
let err = "";
let sent = false;
child.stderr.on("data", (d) => {
  err += d;
  if (!sent && (err.match(/▸ /g) || []).length >= 3) {
    sent = true;
    const kids = execFileSync("sh", ["-c", "cat /proc/" + child.pid + "/task/*/children"]).toString().trim().split(/\\s+/).filter(Boolean);
    globalThis.nixPids = kids;
    process.kill(-child.pid, "SIGINT");
  }
});
child.on("exit", (code, signal) => {
  const alive = (globalThis.nixPids || []).filter((p) => { try { process.kill(-Number(p), 0); return true; } catch { return false; } });
  process.stdout.write(JSON.stringify({ code, signal, sent, nixPids: globalThis.nixPids || [], alive, stderr: err }));
});
`;
    sandbox.writeFile("/home/cxclient/interrupt.cjs", wrapper, 0o644);
    const run = await sandbox.run(
      [
        process.execPath,
        "/home/cxclient/interrupt.cjs",
        "build",
        "--no-color",
        "--",
        "-f",
        VIEW,
        "--argstr",
        "nonce",
        newNonce(),
        "--arg",
        "seconds",
        "37",
        "leaves",
        "--no-link",
      ],
      { timeoutMs: 60_000, env: { NO_COLOR: "1", XDG_STATE_HOME: `${sandbox.tmpDir}/state` } },
    );
    const out = JSON.parse(run.stdout) as {
      code: number;
      sent: boolean;
      nixPids: string[];
      alive: string[];
      stderr: string;
    };
    expect(out.sent, out.stderr).toBe(true);
    expect(out.code, out.stderr).toBe(130);
    expect(out.nixPids.length).toBeGreaterThan(0);
    expect(out.alive).toEqual([]);
    const lines = out.stderr
      .split("\n")
      .filter((l) => STAMP.test(l))
      .map((l) => l.slice(9));
    expect(lines.filter((l) => l.startsWith("○ ")).sort()).toEqual([
      expect.stringMatching(/^○ cx-view-0 not finished on b[12]: interrupted$/),
      expect.stringMatching(/^○ cx-view-1 not finished on b[12]: interrupted$/),
      expect.stringMatching(/^○ cx-view-2 not finished on b[12]: interrupted$/),
    ]);
    expect(lines.some((l) => l.startsWith("✓ "))).toBe(false);
    expect(out.stderr).toMatch(/^Not finished 3: /m);
    // The builds Nix started on the builders are stopped too (the hook's ssh sessions end).
    let left = "";
    for (let i = 0; i < 50; i++) {
      left = (await sandbox.run(["pgrep", "-f", "/bin/sleep 37"])).stdout.trim();
      if (left === "") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(left).toBe("");
  });

  it("on a terminal, redraws one line per builder in place and leaves the final picture (tmux)", async () => {
    const tmux = (args: string[]) =>
      sandbox.run(["tmux", "-L", "cxview", ...args], { env: { TERM: "xterm-256color" } });
    const command = [
      "env",
      "-u",
      "NO_COLOR",
      `XDG_STATE_HOME=${sandbox.tmpDir}/state`,
      process.execPath,
      CLI,
      "build",
      "--",
      "-f",
      VIEW,
      "--argstr",
      "nonce",
      newNonce(),
      "--arg",
      "seconds",
      "1",
      "leaves",
      "--no-link",
    ];
    const shell = `${command.map((a) => `'${a}'`).join(" ")}; echo EXIT=$?; sleep 120`;
    expect((await tmux(["new-session", "-d", "-x", "60", "-y", "30", shell])).exitCode).toBe(0);
    let screen = "";
    try {
      for (let i = 0; i < 300 && !/^EXIT=\d+/m.test(screen); i++) {
        await new Promise((r) => setTimeout(r, 200));
        screen = (await tmux(["capture-pane", "-p"])).stdout;
      }
    } finally {
      await tmux(["kill-server"]);
    }
    const lines = screen.split("\n").map((l) => l.trimEnd());
    expect(lines, screen).toContain("EXIT=0");
    // The live region, drawn once: each builder's line appears exactly once (no debris of earlier frames).
    expect(
      lines.filter((l) => /^b1 /.test(l)),
      screen,
    ).toEqual([expect.stringMatching(/^b1\s+0\/2 idle$/)]);
    expect(
      lines.filter((l) => /^b2 /.test(l)),
      screen,
    ).toEqual([expect.stringMatching(/^b2\s+0\/2 idle$/)]);
    expect(lines, screen).toContainEqual(expect.stringMatching(/^local\s+idle$/));
    expect(lines, screen).toContainEqual(expect.stringMatching(/^queue\s+empty$/));
    expect(lines, screen).toContainEqual(expect.stringMatching(/^3 built · 0 fetched · 0 to go · \d+\.\d s$/));
    expect(lines, screen).toContainEqual(expect.stringMatching(/^Built 3: \d on b\d(, \d on b\d)?$/));
    // A live view, not the append-only lines.
    expect(screen).not.toMatch(/^\d\d:\d\d:\d\d /m);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(60);
  });
});
