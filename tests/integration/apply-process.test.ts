import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyPlan, type Plan } from "../../src/core/plan.js";
import { CLI, runCli } from "../helpers/cli.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-kill-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const FILES = 40;
const oldText = (i: number) => `old ${i}\n`.repeat(20_000);
const newText = (i: number) => `new ${i}\n`.repeat(20_000);

async function seed(dir: string): Promise<Plan> {
  const plan = emptyPlan("many files");
  await mkdir(path.join(dir, "etc/nix"), { recursive: true });
  for (let i = 0; i < FILES; i++) {
    await writeFile(path.join(dir, `etc/nix/f${i}`), oldText(i));
    plan.files.push({ path: `/etc/nix/f${i}`, before: oldText(i), after: newText(i), reason: "" });
  }
  return plan;
}

describe("applying in a real process", () => {
  it("leaves every file either old or new when killed at any moment", async () => {
    let sawMixed = false;
    for (let round = 0; round < 8; round++) {
      const dir = path.join(root, `kill-${round}`);
      const plan = await seed(dir);
      const planFile = path.join(dir, "plan.json");
      await writeFile(planFile, JSON.stringify(plan));
      const child = spawn(process.execPath, [CLI, "internal", "apply-plan", planFile], {
        env: { ...process.env, CROSSNIX_ROOT: dir },
        stdio: "ignore",
      });
      await new Promise((r) => setTimeout(r, 60 + round * 25));
      child.kill("SIGKILL");
      await new Promise((r) => child.on("close", r));
      let olds = 0;
      let news = 0;
      for (let i = 0; i < FILES; i++) {
        const text = await readFile(path.join(dir, `etc/nix/f${i}`), "utf8");
        if (text === oldText(i)) olds++;
        else if (text === newText(i)) news++;
        else throw new Error(`f${i} is neither old nor new after kill in round ${round}`);
      }
      if (olds > 0 && news > 0) sawMixed = true;
    }
    // At least one kill must have landed mid-apply, or this test proved nothing.
    expect(sawMixed).toBe(true);
  }, 60_000);

  it("serialises two concurrent applies: one wins, the other sees the change and writes nothing", async () => {
    const dir = path.join(root, "race");
    const plan = await seed(dir);
    const other = { ...plan, files: plan.files.map((f) => ({ ...f, after: `${f.after}other\n` })) };
    await writeFile(path.join(dir, "a.json"), JSON.stringify(plan));
    await writeFile(path.join(dir, "b.json"), JSON.stringify(other));
    const env = { CROSSNIX_ROOT: dir };
    const [a, b] = await Promise.all([
      runCli(["internal", "apply-plan", path.join(dir, "a.json")], { env }),
      runCli(["internal", "apply-plan", path.join(dir, "b.json")], { env }),
    ]);
    expect([a.code, b.code].sort()).toEqual([0, 1]);
    const loser = a.code === 1 ? a : b;
    expect(loser.stderr).toContain("changed while crossnix was planning");
    const winnerPlan = a.code === 0 ? plan : other;
    for (let i = 0; i < FILES; i++) {
      expect(await readFile(path.join(dir, `etc/nix/f${i}`), "utf8")).toBe(winnerPlan.files[i]!.after);
    }
  }, 60_000);
});
