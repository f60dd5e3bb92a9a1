// Lossless bytes <-> text for config files: valid UTF-8 decodes as usual, and every byte that is not
// part of valid UTF-8 becomes a lone surrogate U+DC80..U+DCFF (Python's "surrogateescape", PEP 383).
// Encoding turns those back into the same bytes, so any file round-trips byte for byte while the
// models still work on ordinary strings.

const ESCAPE_BASE = 0xdc00;

/** Decodes any bytes to a string that encodeLossless turns back into exactly those bytes. */
export function decodeLossless(bytes: Uint8Array): string {
  const parts: string[] = [];
  let run = 0; // start of the current run of valid UTF-8
  let i = 0;
  const flush = (end: number) => {
    if (end > run) parts.push(Buffer.from(bytes.buffer, bytes.byteOffset + run, end - run).toString("utf8"));
  };
  while (i < bytes.length) {
    const length = validSequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    flush(i);
    parts.push(String.fromCharCode(ESCAPE_BASE + (bytes[i] as number)));
    i += 1;
    run = i;
  }
  flush(i);
  return parts.join("");
}

/** Encodes a string from decodeLossless (or any string) back to bytes. */
export function encodeLossless(text: string): Buffer {
  if (!/[\udc80-\udcff]/.test(text)) return Buffer.from(text, "utf8");
  const chunks: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0xdc80 || code > 0xdcff) continue;
    const previous = i > 0 ? text.charCodeAt(i - 1) : 0;
    if (previous >= 0xd800 && previous <= 0xdbff) continue; // the low half of a real surrogate pair
    chunks.push(Buffer.from(text.slice(start, i), "utf8"), Buffer.of(code - ESCAPE_BASE));
    start = i + 1;
  }
  chunks.push(Buffer.from(text.slice(start), "utf8"));
  return Buffer.concat(chunks);
}

/** Length of the well-formed UTF-8 sequence at bytes[i] (Unicode Table 3-7), or 0 when there is none. */
function validSequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i] as number;
  if (b0 < 0x80) return 1;
  const at = (k: number) => (i + k < bytes.length ? (bytes[i + k] as number) : -1);
  const cont = (b: number) => b >= 0x80 && b <= 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(at(1)) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const b1 = at(1);
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf; // no UTF-16 surrogates encoded in UTF-8
    return b1 >= lo && b1 <= hi && cont(at(2)) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const b1 = at(1);
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return b1 >= lo && b1 <= hi && cont(at(2)) && cont(at(3)) ? 4 : 0;
  }
  return 0;
}
