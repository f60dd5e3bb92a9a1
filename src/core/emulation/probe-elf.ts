// The smallest static ELF programs that print "crossnix-ok": the foreign binary an emulated build runs.

export const PROBE_OUTPUT = "crossnix-ok";

/** aarch64: write(1, msg, len); exit(0) (Linux syscalls 64 and 93). */
function aarch64Code(length: number): Buffer {
  const words = [
    0xd2800020, // mov x0, #1
    0x100000e1, // adr x1, msg (7 instructions ahead)
    0xd2800002 | (length << 5), // mov x2, #length
    0xd2800808, // mov x8, #64 (write)
    0xd4000001, // svc #0
    0xd2800000, // mov x0, #0
    0xd2800ba8, // mov x8, #93 (exit)
    0xd4000001, // svc #0
  ];
  const code = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => {
    code.writeUInt32LE(w >>> 0, i * 4);
  });
  return code;
}

/** x86_64: write(1, msg, len); exit(0) (Linux syscalls 1 and 60). */
function x86_64Code(length: number): Buffer {
  return Buffer.from([
    0xb8,
    0x01,
    0,
    0,
    0, // mov eax, 1 (write)
    0xbf,
    0x01,
    0,
    0,
    0, // mov edi, 1
    0x48,
    0x8d,
    0x35,
    0x10,
    0,
    0,
    0, // lea rsi, [rip + 16] (msg)
    0xba,
    length,
    0,
    0,
    0, // mov edx, length
    0x0f,
    0x05, // syscall
    0xb8,
    0x3c,
    0,
    0,
    0, // mov eax, 60 (exit)
    0x31,
    0xff, // xor edi, edi
    0x0f,
    0x05, // syscall
  ]);
}

/** One PT_LOAD segment (read + execute) holding headers, code and message, loaded at 0x400000. */
export function elf64(machine: number, code: Buffer, message: string): Buffer {
  const base = 0x400000n;
  const headers = 64 + 56;
  const body = Buffer.concat([code, Buffer.from(message, "latin1")]);
  const b = Buffer.alloc(headers + body.length);
  b.write("\x7fELF", 0, "latin1");
  b[4] = 2; // 64-bit
  b[5] = 1; // little endian
  b[6] = 1; // ELF version
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(machine, 18);
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(base + BigInt(headers), 24); // entry
  b.writeBigUInt64LE(64n, 32); // program headers
  b.writeUInt16LE(64, 52);
  b.writeUInt16LE(56, 54);
  b.writeUInt16LE(1, 56);
  b.writeUInt16LE(64, 58);
  b.writeUInt32LE(1, 64); // PT_LOAD
  b.writeUInt32LE(5, 68); // PF_R | PF_X
  b.writeBigUInt64LE(base, 80);
  b.writeBigUInt64LE(base, 88);
  b.writeBigUInt64LE(BigInt(b.length), 96);
  b.writeBigUInt64LE(BigInt(b.length), 104);
  b.writeBigUInt64LE(0x1000n, 112);
  body.copy(b, headers);
  return b;
}

/** The probe program for a system, or null when crossnix has none for it (the build proof is then skipped). */
export function probeElf(system: string): Buffer | null {
  const message = `${PROBE_OUTPUT}\n`;
  if (system === "aarch64-linux") return elf64(0xb7, aarch64Code(message.length), message);
  if (system === "x86_64-linux") return elf64(0x3e, x86_64Code(message.length), message);
  return null;
}

/**
 * A derivation for `system` whose build runs the probe: `/bin/sh` (present in Nix's Linux sandbox)
 * runs the imported foreign binary, which only binfmt_misc can execute, into $out.
 */
export function emulationProofExpression(system: string, probePath: string, nonce: string): string {
  for (const word of [system, nonce, probePath]) {
    if (!/^[A-Za-z0-9_./+-]+$/.test(word)) throw new Error(`not a plain word: '${word}'`);
  }
  return `derivation { name = "crossnix-emulation-${nonce}"; system = "${system}"; builder = "/bin/sh"; args = [ "-c" "\${${probePath}} > $out" ]; allowSubstitutes = false; preferLocalBuild = true; }`;
}
