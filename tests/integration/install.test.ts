// crossnix installs like a real CLI: `npm pack` holds only what runs, and `npm install -g` of that
// tarball (into a temp prefix) gives a working `crossnix`.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../helpers/cli.js";

const run = promisify(execFile);
let dir: string;
let tarball: string;
let bin: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "crossnix-install-"));
  // dist/ is fresh: `npm test` builds before running vitest.
  const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: REPO });
  tarball = path.join(dir, (JSON.parse(packed.stdout) as { filename: string }[])[0]?.filename ?? "");
  const prefix = path.join(dir, "prefix");
  // The dependencies come from npm's cache, filled by `npm ci`.
  await run("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball], {
    cwd: dir,
    timeout: 120_000,
  });
  bin = path.join(prefix, "bin/crossnix");
}, 180_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("npm pack and npm install -g", () => {
  it("packs only dist/, README, LICENSE and package.json: no tests, sources or source maps", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball]);
    const files = stdout.trim().split("\n");
    expect(files).toContain("package/dist/cli.js");
    expect(files).toEqual(expect.arrayContaining(["package/README.md", "package/LICENSE", "package/package.json"]));
    const other = files.filter((f) => !/^package\/(dist\/.*\.js|README\.md|LICENSE|package\.json)$/.test(f));
    expect(other).toEqual([]);
  });

  it("the installed crossnix prints its help and version", async () => {
    const help = await run(bin, ["--help"]);
    expect(help.stdout).toMatch(/^Usage: crossnix/m);
    expect(help.stdout).toContain("builder");
    const version = await run(bin, ["--version"]);
    const { version: expected } = (await import(path.join(REPO, "package.json"), { with: { type: "json" } }))
      .default as {
      version: string;
    };
    expect(version.stdout.trim()).toBe(expected);
  });

  it("the installed crossnix doctor --json prints one valid JSON document and exits 0 or 1", async () => {
    const result = await run(bin, ["doctor", "--json", "--no-build", "--timeout", "3"], { timeout: 60_000 }).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    const code = "code" in result ? result.code : 0;
    expect([0, 1]).toContain(code);
    const report = JSON.parse(result.stdout) as { checks?: unknown[] };
    expect(Array.isArray(report.checks)).toBe(true);
  });
});
