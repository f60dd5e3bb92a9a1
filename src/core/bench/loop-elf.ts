// The benchmark unit for emulation: a static ELF that runs a fixed machine-code loop, then prints.
// The shell-loop unit runs the builder's own /bin/sh, which is never emulated; this program is
// of the emulated CPU, so only binfmt_misc (qemu-user) can run it (docs/scheduling.md#emulation-unit).
import { elf64 } from "../emulation/probe-elf.js";

/** What the loop prints when it ran to the end. */
export const LOOP_OUTPUT = "crossnix-loop";

const MULTIPLIER = 6364136223846793005n; // Knuth's MMIX LCG: each step a multiply and an add.

/** aarch64: x10 = x10 * M + 1, `count` times; then write(1, msg) and exit(0) (syscalls 64, 93). */
function aarch64Code(count: bigint, length: number): Buffer {
  const words = [
    0x580001c9, // 0: ldr x9, count (14 words ahead)
    0x580001eb, // 1: ldr x11, multiplier (15 words ahead)
    0xd280002c, // 2: mov x12, #1
    0x9b0b314a, // 3: loop: madd x10, x10, x11, x12
    0xf1000529, // 4: subs x9, x9, #1
    0x54ffffc1, // 5: b.ne loop (2 words back)
    0xd2800020, // 6: mov x0, #1
    0x10000161, // 7: adr x1, msg (11 words ahead)
    0xd2800002 | (length << 5), // 8: mov x2, #length
    0xd2800808, // 9: mov x8, #64 (write)
    0xd4000001, // 10: svc #0
    0xd2800000, // 11: mov x0, #0
    0xd2800ba8, // 12: mov x8, #93 (exit)
    0xd4000001, // 13: svc #0
  ];
  const code = Buffer.alloc(words.length * 4 + 16);
  words.forEach((w, i) => {
    code.writeUInt32LE(w >>> 0, i * 4);
  });
  code.writeBigUInt64LE(count, 56); // word 14: count (8-byte aligned: code starts at 120)
  code.writeBigUInt64LE(MULTIPLIER, 64); // word 16: multiplier; msg follows at word 18
  return code;
}

/** x86_64: rax = rax * M + 1, `count` times; then write(1, msg) and exit(0) (syscalls 1, 60). */
function x86_64Code(count: bigint, length: number): Buffer {
  const imm64 = (x: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(x);
    return [...b];
  };
  return Buffer.from([
    ...[0x48, 0xb9, ...imm64(count)], // mov rcx, count
    ...[0x48, 0xbb, ...imm64(MULTIPLIER)], // mov rbx, M
    ...[0x48, 0x0f, 0xaf, 0xc3], // loop: imul rax, rbx
    ...[0x48, 0xff, 0xc0], // inc rax
    ...[0x48, 0xff, 0xc9], // dec rcx
    ...[0x75, 0xf4], // jnz loop (12 bytes back)
    ...[0xb8, 0x01, 0, 0, 0], // mov eax, 1 (write)
    ...[0xbf, 0x01, 0, 0, 0], // mov edi, 1
    ...[0x48, 0x8d, 0x35, 0x10, 0, 0, 0], // lea rsi, [rip + 16] (msg)
    ...[0xba, length, 0, 0, 0], // mov edx, length
    ...[0x0f, 0x05], // syscall
    ...[0xb8, 0x3c, 0, 0, 0], // mov eax, 60 (exit)
    ...[0x31, 0xff], // xor edi, edi
    ...[0x0f, 0x05], // syscall
  ]);
}

/** The loop program for a system, or null when crossnix has none for that CPU. `count` ≥ 1. */
export function loopElf(system: string, count: number): Buffer | null {
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`not a loop count: ${count}`);
  const message = `${LOOP_OUTPUT}\n`;
  if (system === "aarch64-linux") return elf64(0xb7, aarch64Code(BigInt(count), message.length), message);
  if (system === "x86_64-linux") return elf64(0x3e, x86_64Code(BigInt(count), message.length), message);
  return null;
}

export function hasLoopElf(system: string): boolean {
  return system === "aarch64-linux" || system === "x86_64-linux";
}

/** Machine-code loop steps per shell-loop iteration of the unit, so both take about as long natively. */
export const LOOPS_PER_ITERATION = 700;

/**
 * `nonces.length` derivations for `system` that each run the loop program at `programPath` (imported
 * into the store by the client) into $out, from `/bin/sh` as the emulation proof does.
 */
export function loopExpression(system: string, programPath: string, nonces: string[]): string {
  for (const word of [system, programPath, ...nonces]) {
    if (!/^[A-Za-z0-9_./+-]+$/.test(word)) throw new Error(`not a plain word: '${word}'`);
  }
  const one = (nonce: string) =>
    `(derivation { name = "crossnix-loop-${nonce}"; system = "${system}"; builder = "/bin/sh"; args = [ "-c" "\${${programPath}} > $out" ]; allowSubstitutes = false; preferLocalBuild = true; })`;
  return `[ ${nonces.map(one).join(" ")} ]`;
}
