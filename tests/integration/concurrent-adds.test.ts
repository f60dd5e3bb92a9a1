// Runs are serialised, not rejected: `builder add` runs started together each wait for the lock,
// and one that finds the files changed by the one before plans again from them. Every run exits 0
// and every entry is there. CROSSNIX_STRESS_ROUNDS raises the rounds (the 100 for a note).
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listEntries, parseMachinesFile } from "../../src/core/formats/machines/index.js";
import { parseSshConfig, listHostBlocks } from "../../src/core/formats/ssh-config.js";
import { addOffline } from "../helpers/offline-add.js";

const RUNS = 10;
const ROUNDS = Number(process.env["CROSSNIX_STRESS_ROUNDS"] ?? 2);
let base: string;

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), "crossnix-concurrent-"));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe(`${RUNS} builder add runs at once`, () => {
  it(`all exit 0 and all ${RUNS} entries, aliases and keys are there (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const root = path.join(base, `round-${round}`);
      await mkdir(path.join(root, "etc/nix"), { recursive: true });
      await writeFile(path.join(root, "etc/nix/nix.conf"), "# nix.conf\n");
      const names = Array.from({ length: RUNS }, (_, i) => `b${i}`);
      const results = await Promise.all(
        names.map((name, i) => addOffline(root, name, { address: `127.0.0.${i + 2}`, timeoutMs: 120_000 })),
      );
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const machines = parseMachinesFile(
        await readFile(path.join(root, "etc/nix/machines"), "utf8"),
        "/etc/nix/machines",
      );
      expect(
        listEntries(machines)
          .map((e) => e.name)
          .sort(),
      ).toEqual([...names].sort());
      const aliases = parseSshConfig(
        await readFile(path.join(root, "etc/ssh/ssh_config.d/crossnix.conf"), "utf8"),
        "crossnix.conf",
      );
      expect(
        listHostBlocks(aliases)
          .flatMap((b) => b.patterns)
          .sort(),
      ).toEqual([...names].sort());
      for (const name of names)
        await expect(readFile(path.join(root, `etc/nix/crossnix/${name}_ed25519.pub`), "utf8")).resolves.toMatch(
          /^ssh-ed25519 /,
        );
    }
  }, 600_000);
});
