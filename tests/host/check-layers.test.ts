// The layer rule that `npm run lint` runs (scripts/check-layers.mjs) really fails on each kind of violation.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { REPO } from "../helpers/cli.js";

const run = promisify(execFile);
let src: string;
beforeEach(async () => {
  src = await mkdtemp(path.join(os.tmpdir(), "crossnix-layers-"));
});
afterEach(async () => {
  await rm(src, { recursive: true, force: true });
});

async function check(files: Record<string, string>): Promise<{ code: number; stderr: string }> {
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(src, file)), { recursive: true });
    await writeFile(path.join(src, file), text);
  }
  return run(process.execPath, [path.join(REPO, "scripts/check-layers.mjs"), src]).then(
    (r) => ({ code: 0, stderr: r.stderr }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
}

describe("scripts/check-layers.mjs", () => {
  it("passes a tree that keeps the layers", async () => {
    const ok = await check({
      "core/a.ts": 'import { b } from "./b.js";\nexport const a = b;\n',
      "core/b.ts": "export const b = 1;\n",
      "app/x.ts": 'import { a } from "../core/a.js";\nexport const x = a;\n',
      "commands/register.ts": 'export const load = () => import("./thing.js");\n',
      "commands/thing.ts":
        'import { x } from "../app/x.js";\nimport { o } from "./options.js";\nexport default [x, o];\n',
      "commands/options.ts": "export const o = 1;\n",
      "cli.ts": 'process.stdout.write("ok");\n',
    });
    expect(ok).toEqual({ code: 0, stderr: "" });
  });

  it.each([
    ["core/a.ts", 'import { h } from "../host/h.js";\n', "core/ must not import host/h.ts"],
    ["core/a.ts", 'import { readFile } from "node:fs/promises";\n', "core/ does no I/O, but imports node:fs/promises"],
    ["app/a.ts", 'import c from "../commands/c.js";\n', "app/ must not import commands/c.ts"],
    ["ui/a.ts", 'import { h } from "../host/h.js";\n', "ui/ must not import host/h.ts"],
    ["commands/a.ts", 'import b from "./b.js";\n', "a command must not import another command's commands/b.ts"],
    ["app/a.ts", 'process.stdout.write("x");\n', "only src/cli.ts writes to stdout"],
    ["host/a.ts", 'console.log("x");\n', "only src/cli.ts writes to stdout"],
  ])("fails %s importing or writing what its layer may not (%s)", async (file, text, problem) => {
    const result = await check({ [file]: text });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(problem);
  });
});
