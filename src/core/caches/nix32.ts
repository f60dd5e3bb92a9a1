// Nix's base-32 hash encoding, and hashes rewritten into the `sha256:<nix32>` form signatures cover.

/** Nix's base-32 alphabet (no e, o, u, t), docs/binary-caches.md#signatures. */
const ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";
/** Character code → digit, -1 outside the alphabet (thousands of narinfo hashes are decoded per check). */
const DIGITS = new Int8Array(128).fill(-1);
for (const [digit, c] of [...ALPHABET].entries()) DIGITS[c.charCodeAt(0)] = digit;

/** Bytes → Nix base-32, as printHash32 does (most significant 5-bit group first, from the end). */
export function toNix32(bytes: Uint8Array): string {
  const length = Math.ceil((bytes.length * 8) / 5);
  let out = "";
  for (let n = length - 1; n >= 0; n--) {
    const b = n * 5;
    const i = Math.floor(b / 8);
    const j = b % 8;
    const low = (bytes[i] ?? 0) >> j;
    const high = i + 1 < bytes.length ? (bytes[i + 1] ?? 0) << (8 - j) : 0;
    out += ALPHABET[(low | high) & 0x1f];
  }
  return out;
}

/** Nix base-32 → bytes, or null when a character is not in the alphabet or the length is wrong. */
export function fromNix32(text: string, size: number): Uint8Array | null {
  if (text.length !== Math.ceil((size * 8) / 5)) return null;
  const bytes = new Uint8Array(size);
  for (let n = 0; n < text.length; n++) {
    const digit = DIGITS[text.charCodeAt(text.length - n - 1)] ?? -1;
    if (digit < 0) return null;
    const b = n * 5;
    const i = Math.floor(b / 8);
    const j = b % 8;
    bytes[i] = (bytes[i]! | (digit << j)) & 0xff;
    if (i + 1 < size) bytes[i + 1] = (bytes[i + 1]! | (digit >> (8 - j))) & 0xff;
    else if (digit >> (8 - j) !== 0) return null;
  }
  return bytes;
}

const SIZES: Readonly<Record<string, number>> = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };

/**
 * A hash in the form Nix signs (`<algo>:<nix32>`), from any form a narinfo may carry: `algo:nix32`,
 * `algo:base16`, `algo:base64` or SRI `algo-base64`. null when it is none of them.
 */
export function canonicalHash(hash: string): string | null {
  const sri = /^(md5|sha1|sha256|sha512)-([A-Za-z0-9+/=]+)$/.exec(hash);
  const typed = /^(md5|sha1|sha256|sha512):([A-Za-z0-9+/=]+)$/.exec(hash);
  const match = sri ?? typed;
  if (!match) return null;
  const algo = match[1]!;
  const body = match[2]!;
  const size = SIZES[algo]!;
  if (!sri && body.length === Math.ceil((size * 8) / 5)) {
    return fromNix32(body, size) ? `${algo}:${body}` : null;
  }
  let bytes: Uint8Array | null = null;
  if (!sri && body.length === size * 2 && /^[0-9a-fA-F]+$/.test(body)) bytes = Buffer.from(body, "hex");
  else if (body.length === Math.ceil(size / 3) * 4) bytes = Buffer.from(body, "base64");
  if (!bytes || bytes.length !== size) return null;
  return `${algo}:${toNix32(bytes)}`;
}
