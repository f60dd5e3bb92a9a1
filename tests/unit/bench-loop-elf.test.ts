// The emulation benchmark's loop program: a valid static ELF of the right CPU that runs its loop and
// prints, and the derivations that run it; the native one is executed for real where it can run.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LOOP_OUTPUT, loopElf, loopExpression } from "../../src/core/bench/loop-elf.js";

describe("loopElf", () => {
  it("is a 64-bit little-endian executable of the system's CPU, and none for others", () => {
    for (const [system, machine] of [
      ["aarch64-linux", 0xb7],
      ["x86_64-linux", 0x3e],
    ] as const) {
      const elf = loopElf(system, 1000)!;
      expect(elf.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
      expect([elf[4], elf[5], elf.readUInt16LE(16), elf.readUInt16LE(18)]).toEqual([2, 1, 2, machine]);
      expect(elf.toString("latin1").endsWith(`${LOOP_OUTPUT}\n`)).toBe(true);
    }
    expect(loopElf("riscv64-linux", 1000)).toBeNull();
    expect(() => loopElf("x86_64-linux", 0)).toThrow(/loop count/);
  });

  it.skipIf(process.platform !== "linux" || process.arch !== "x64")(
    "runs natively: a long loop takes longer than a short one and both print the line",
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crossnix-loop-test-"));
      try {
        const run = (count: number) => {
          const file = path.join(dir, `loop-${count}`);
          fs.writeFileSync(file, loopElf("x86_64-linux", count)!, { mode: 0o755 });
          const t = process.hrtime.bigint();
          const out = execFileSync(file, { encoding: "utf8" });
          return { out, ns: Number(process.hrtime.bigint() - t) };
        };
        const short = run(1);
        const long = run(200_000_000);
        expect([short.out, long.out]).toEqual([`${LOOP_OUTPUT}\n`, `${LOOP_OUTPUT}\n`]);
        // 200 million multiply-adds cannot finish in the time a process takes to start.
        expect(long.ns).toBeGreaterThan(short.ns);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it("loopExpression: one derivation per nonce, refusing anything but plain words", () => {
    const expr = loopExpression("aarch64-linux", "/tmp/x/crossnix-loop", ["a1", "b2"]);
    expect(expr.match(/derivation \{/g)).toHaveLength(2);
    expect(expr).toContain('system = "aarch64-linux"');
    // Nix interpolation of the path: the client imports the program into the store.
    expect(expr).toContain(`\${/tmp/x/crossnix-loop} > $out`);
    expect(() => loopExpression("aarch64-linux", "/tmp/x y", ["a"])).toThrow(/plain word/);
    expect(() => loopExpression("aarch64-linux", "/tmp/x", ['a"; builtins.abort "'])).toThrow(/plain word/);
  });
});
