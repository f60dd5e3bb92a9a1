// Crash safety of the plan runner in real processes, made deterministic by named crash points:
// crossnix kills itself (CROSSNIX_TEST_CRASH_AT) or stops itself (CROSSNIX_TEST_STOP_AT) exactly
// there, and the test checks what a dead run leaves and what the next run makes of it.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeLossless } from "../../src/core/formats/bytes.js";
import { emptyPlan, type Plan } from "../../src/core/plan/plan.js";
import { planDigest } from "../../src/host/plan/handoff.js";
import { CLI } from "../helpers/cli.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-crash-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// Three kinds of change: a file rewritten, a file created, a file deleted (with bytes that are not UTF-8).
const OLD: Record<string, Buffer | null> = {
  "/etc/nix/machines": Buffer.from("ssh-ng://a x86_64-linux\n# caf\xe9 \xff\n", "latin1"),
  "/etc/ssh/ssh_config.d/crossnix.conf": null,
  "/etc/nix/crossnix/old_ed25519": Buffer.from("old key\n"),
};
const NEW: Record<string, string | null> = {
  "/etc/nix/machines": "ssh-ng://a x86_64-linux\n# caf\udce9 \udcff\nssh-ng://b aarch64-linux\n",
  "/etc/ssh/ssh_config.d/crossnix.conf": "Host b\n  HostName 127.0.0.3\n",
  "/etc/nix/crossnix/old_ed25519": null,
};
const NEW_BYTES: Record<string, Buffer | null> = {
  "/etc/nix/machines": Buffer.concat([OLD["/etc/nix/machines"] as Buffer, Buffer.from("ssh-ng://b aarch64-linux\n")]),
  "/etc/ssh/ssh_config.d/crossnix.conf": Buffer.from("Host b\n  HostName 127.0.0.3\n"),
  "/etc/nix/crossnix/old_ed25519": null,
};
const FILES = Object.keys(OLD);

async function seed(dir: string): Promise<string> {
  const plan: Plan = emptyPlan("crash test");
  for (const file of FILES) {
    const old = OLD[file] as Buffer | null;
    if (old) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), old);
    }
    plan.files.push({ path: file, before: old ? decodeLossless(old) : null, after: NEW[file] ?? null, reason: "" });
  }
  const planFile = path.join(dir, "plan.json");
  await writeFile(planFile, JSON.stringify(plan), { mode: 0o600 });
  return planFile;
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function applyIn(dir: string, planFile: string, env: Record<string, string> = {}) {
  const digest = planDigest(readFileSync(planFile));
  const child = spawn(process.execPath, [CLI, "internal", "apply-plan", "--sha256", digest, "--", planFile], {
    env: { ...process.env, NO_COLOR: "1", CROSSNIX_ROOT: dir, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const listeners: Array<() => void> = [];
  child.stderr.on("data", (d) => {
    stderr += d;
    for (const l of listeners) l();
  });
  const ended = new Promise<Ended>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr })));
  /** Resolves once stderr matches: waiting on what the process says, not on a clock. */
  const saying = (re: RegExp) =>
    new Promise<void>((resolve) => {
      const check = () => re.test(stderr) && resolve();
      listeners.push(check);
      check();
    });
  return { child, ended, saying };
}

/** Resolves once the process is stopped (state T in /proc), polling the kernel's answer. */
async function stopped(pid: number): Promise<void> {
  for (;;) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("T")) return;
    await new Promise((r) => setImmediate(r));
  }
}

/** Each file's state: exactly its old bytes, or exactly its new bytes; anything else fails the test. */
async function fileStates(dir: string): Promise<Array<"old" | "new">> {
  const same = (a: Buffer | null, b: Buffer | null) => (a === null || b === null ? a === b : a.equals(b));
  const states: Array<"old" | "new"> = [];
  for (const file of FILES) {
    const have = await readFile(path.join(dir, file)).catch(() => null);
    if (same(have, OLD[file] ?? null)) states.push("old");
    else if (same(have, NEW_BYTES[file] ?? null)) states.push("new");
    else throw new Error(`${file} in ${dir} is neither old nor new`);
  }
  return states;
}

/** The whole plan's state: all old, all new, or mixed (only ever allowed right after a kill). */
async function state(dir: string): Promise<"old" | "new" | "mixed"> {
  const states = new Set(await fileStates(dir));
  return states.size === 2 ? "mixed" : ([...states][0] as "old" | "new");
}

/** Every file with a crossnix temp-file name left anywhere under dir. */
async function strayTemps(dir: string): Promise<string[]> {
  const all = (await readdir(dir, { recursive: true })) as string[];
  return all.filter((f) => /\.crossnix-\d+-\d+-\d+\.tmp$/.test(f));
}

async function backupsOf(dir: string): Promise<Map<string, Buffer>> {
  const base = path.join(dir, "etc/nix/crossnix/backups");
  const found = new Map<string, Buffer>();
  for (const run of await readdir(base).catch(() => [] as string[])) {
    for (const file of FILES) {
      const bytes = await readFile(path.join(base, run, file)).catch(() => null);
      if (bytes) found.set(file, bytes);
    }
  }
  return found;
}

const POINTS = [
  "locked",
  "backup:0",
  "backup:2",
  "journal",
  "temp:0",
  "rename:0",
  "temp:1",
  "rename:1",
  "rename:2",
  "commands",
  "finished",
];

describe("a run killed at each crash point", () => {
  it.each(POINTS)("killed at %s: files all old or all new, backups intact, the next run not blocked", async (point) => {
    const dir = path.join(root, point.replace(":", "-"));
    const planFile = await seed(dir);
    const killed = await applyIn(dir, planFile, { CROSSNIX_TEST_CRASH_AT: point }).ended;
    expect(killed.signal).toBe("SIGKILL"); // the point was reached: this run proves something

    const after = await state(dir); // throws unless every file is exactly old or exactly new
    const index = POINTS.indexOf(point);
    if (index <= POINTS.indexOf("temp:0")) expect(after).toBe("old"); // nothing renamed yet
    if (index >= POINTS.indexOf("rename:2")) expect(after).toBe("new");
    if (point === "rename:0" || point === "temp:1" || point === "rename:1") expect(after).toBe("mixed");
    for (const [file, bytes] of await backupsOf(dir)) expect(bytes.equals(OLD[file] as Buffer)).toBe(true);

    // The next run takes the dead run's lock, rolls back what its journal names, removes its temp files.
    const next = await applyIn(dir, planFile).ended;
    const journaled = index >= POINTS.indexOf("journal") && point !== "finished";
    if (point === "finished") {
      expect(next.code).toBe(1); // the plan was fully applied: its `before` no longer matches
      expect(next.stderr).toContain("changed while crossnix was planning");
    } else {
      expect(next.code, next.stderr).toBe(0);
      expect(await state(dir)).toBe("new");
    }
    expect(next.stderr).toMatch(/took over the lock left by pid \d+ \(crash test\)/);
    expect(next.stderr.includes("was rolled back")).toBe(journaled);
    expect(await strayTemps(dir)).toEqual([]);
    await expect(readFile(path.join(dir, "etc/nix/crossnix/journal.json"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("two applies at once", () => {
  it("the second waits for the first, and when the first dies mid-apply it rolls it back and applies its own plan", async () => {
    const dir = path.join(root, "concurrent");
    const planFile = await seed(dir);
    const first = applyIn(dir, planFile, { CROSSNIX_TEST_STOP_AT: "rename:1" });
    await stopped(first.child.pid as number);
    const second = applyIn(dir, planFile);
    await second.saying(/waiting for another crossnix \(pid \d+ \(crash test\)\)/);
    first.child.kill("SIGKILL");
    expect((await first.ended).signal).toBe("SIGKILL");
    const done = await second.ended;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(
      /an interrupted crossnix run \(pid \d+: crash test\) was rolled back; restored \/etc\/nix\/machines, \/etc\/ssh\/ssh_config.d\/crossnix.conf/,
    );
    expect(await state(dir)).toBe("new");
    expect(await strayTemps(dir)).toEqual([]);
  });

  it("serialises two live applies of conflicting plans: one wins, the other sees the change and writes nothing", async () => {
    const dir = path.join(root, "race");
    const planFile = await seed(dir);
    const first = applyIn(dir, planFile, { CROSSNIX_TEST_STOP_AT: "journal" });
    await stopped(first.child.pid as number);
    const second = applyIn(dir, planFile);
    await second.saying(/waiting for another crossnix/);
    first.child.kill("SIGCONT");
    expect((await first.ended).code).toBe(0);
    const lost = await second.ended;
    expect(lost.code).toBe(1);
    expect(lost.stderr).toContain("changed while crossnix was planning; nothing was written");
    expect(await state(dir)).toBe("new");
  });
});
