// One machines entry: split, parsed, validated and rendered as each Nix version does.
// One file because parsing, validation and rendering must agree on the same field and host-key rules.
import { looksLikeSystem } from "../../nix/systems.js";
import { badInput, CrossnixError, parseError } from "../../../errors.js";
import {
  dialectRange,
  FRACTIONAL_SPEED_SINCE,
  type MachinesDialect,
  NEWEST_DIALECT,
  nearestWholeSpeedFactor,
} from "./dialect.js";

/**
 * One machine specification as Nix reads it (docs/nix-machines-file.md#fields, `parseBuilderLine`). A field that is
 * absent or `-` is null / []: the defaults (local system, 1 job, speed 1, no features) are Nix's
 * to apply, so rendering keeps the user's choice of leaving them unset.
 */
export interface MachineEntry {
  /** As written, not normalised (see normalizeStoreUri). */
  uri: string;
  /** [] when '-' or absent: Nix then uses the *local* `system`, not the remote's. */
  systems: string[];
  sshKey: string | null;
  /** The number Nix reads from the column (docs/nix-machines-file.md#numbers). */
  maxJobs: number | null;
  /** The number Nix reads from the column, before it treats 0 as 1 (see effectiveSpeedFactor). */
  speedFactor: number | null;
  supportedFeatures: string[];
  mandatoryFeatures: string[];
  /** Column 8: base64 of a full public-key line such as `ssh-ed25519 AAAA…`. */
  hostKey: string | null;
}

/** One item of a machines line or of the `builders` value. `column` is 1-based. */
export type LineItem =
  | { kind: "entry"; entry: MachineEntry; column: number; raw: string }
  | { kind: "include"; path: string; column: number; raw: string };

interface Piece {
  text: string;
  /** 0-based index of text[0] in the string it was cut from. */
  start: number;
}

// Nix's trim() and tokenizeString() both default to these four (docs/nix-machines-file.md#fields); JS's trim() and
// \s also take \v, \f and Unicode spaces, which Nix keeps inside a field.
const NIX_WHITESPACE = " \t\n\r";

function isNixWhitespace(char: string): boolean {
  return NIX_WHITESPACE.includes(char);
}

function trimNix(text: string): Piece {
  let start = 0;
  let end = text.length;
  while (start < end && isNixWhitespace(text[start]!)) start++;
  while (end > start && isNixWhitespace(text[end - 1]!)) end--;
  return { text: text.slice(start, end), start };
}

function tokenize(text: string): Piece[] {
  const tokens: Piece[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && isNixWhitespace(text[i]!)) i++;
    if (i >= text.length) break;
    const start = i;
    while (i < text.length && !isNixWhitespace(text[i]!)) i++;
    tokens.push({ text: text.slice(start, i), start });
  }
  return tokens;
}

/**
 * The items of one line, each with where it starts (docs/nix-machines-file.md#splitting).
 * 2.29 and later: cut at the first '#', split on ';', trim each entry, skip blank ones.
 * Before 2.29: split on ';' (empty pieces vanish), cut each piece at its own '#', skip it if
 * nothing is left, and do not trim: a piece of only spaces is an entry (which Nix rejects).
 */
export function lineSegments(line: string, dialect: MachinesDialect = NEWEST_DIALECT): Piece[] {
  const segments: Piece[] = [];
  if (dialect.splitting === "split-then-comment") {
    let offset = 0;
    for (const part of line.split(";")) {
      const hash = part.indexOf("#");
      const content = hash === -1 ? part : part.slice(0, hash);
      if (content !== "") segments.push({ text: content, start: offset });
      offset += part.length + 1;
    }
    return segments;
  }
  const hash = line.indexOf("#");
  const content = hash === -1 ? line : line.slice(0, hash);
  let offset = 0;
  for (const part of content.split(";")) {
    const trimmed = trimNix(part);
    if (trimmed.text !== "") segments.push({ text: trimmed.text, start: offset + trimmed.start });
    offset += part.length + 1;
  }
  return segments;
}

/** The path of an `@file` item: `trim(entry.substr(1))` (docs/nix-machines-file.md#includes). */
export function includePath(segment: string): string {
  return trimNix(segment.slice(1)).text;
}

/**
 * Reads the includes and entries of one line. `columnOffset` is where `line` starts inside the
 * physical line, for locating errors. Throws a PARSE error at the first invalid entry.
 * Before 2.29 an item is an include only if its very first character is '@': Nix did not trim
 * it first, so ` @/file` is read as a machine whose store URI is `@/file`
 * (docs/nix-machines-file.md#includes).
 */
export function readLineItems(
  line: string,
  file: string,
  lineNumber: number,
  columnOffset = 0,
  dialect: MachinesDialect = NEWEST_DIALECT,
): LineItem[] {
  return lineSegments(line, dialect).map((segment): LineItem => {
    if (segment.text.startsWith("@")) {
      const column = columnOffset + segment.start + 1;
      return { kind: "include", path: includePath(segment.text), column, raw: trimNix(segment.text).text };
    }
    const trimmed = trimNix(segment.text);
    const blank = trimmed.text === "";
    const column = columnOffset + segment.start + (blank ? 0 : trimmed.start) + 1;
    const entry = parseEntry(blank ? segment.text : trimmed.text, file, lineNumber, column, dialect);
    return { kind: "entry", entry, column, raw: trimmed.text };
  });
}

const BAD_SPEC = "bad machine specification";
const MAX_UNSIGNED_INT = 0xffff_ffff;
const HINTS = {
  uri: "the first field is the builder's store URI, e.g. ssh-ng://builder@host",
  maxJobs: "column #3 is max-jobs: how many builds run there at once (a whole number), or '-' for 1",
  speedFactor: "column #4 is the speed factor: a number >= 0 such as 1 or 2.5, or '-' for 1",
  hostKey: "column #7 is the builder's SSH host key: base64 of a public-key line like 'ssh-ed25519 AAAA…'",
};

/**
 * Parses one machine specification as `dialect` does. `column` (1-based) is where `text` starts
 * on its line; errors point at the offending field, with Nix's wording and 0-based column numbers.
 */
export function parseEntry(
  text: string,
  file: string,
  line: number,
  column: number,
  dialect: MachinesDialect = NEWEST_DIALECT,
): MachineEntry {
  const tokens = tokenize(text);
  const fail = (token: Piece, why: string, hint: string): never => {
    throw parseError(file, line, column + token.start, token.text, why, hint);
  };
  // A field is set only if present, non-empty and not '-'; tokens past the 8th are ignored.
  const field = (index: number): Piece | null => {
    const token = tokens[index];
    return token !== undefined && token.text !== "-" ? token : null;
  };
  const range = dialectRange(dialect);

  // Before 2.5 the first token is the URI whatever it is, even '-' (docs/nix-machines-file.md#errors).
  const uri = dialect.messages === "plain" ? (tokens[0] ?? null) : field(0);
  if (uri === null) {
    const blank = /^[ \t\n\r]*$/.test(text);
    const why =
      dialect.messages === "plain"
        ? "bad machine specification"
        : `${BAD_SPEC}: store URL was not found at the first column of a row`;
    const hint = blank
      ? `this entry holds only spaces (an indented comment, '; ;', or a blank line ending in '\\r'): ${range} rejects it, Nix 2.29 and later skip it; delete the spaces (docs/nix-machines-file.md#splitting)`
      : HINTS.uri;
    throw parseError(file, line, column, text, why, hint);
  }

  const maxJobsField = field(3);
  let maxJobs: number | null = null;
  if (maxJobsField !== null) {
    const value =
      dialect.maxJobs === "stoull" ? stoullAsUnsigned(maxJobsField.text) : unsignedIntLikeNix(maxJobsField.text);
    if (value === null) {
      fail(
        maxJobsField,
        dialect.maxJobs === "stoull"
          ? STOULL_WHY(3, range)
          : `${BAD_SPEC}: failed to convert column #3 to 'unsigned int'`,
        HINTS.maxJobs,
      );
    }
    maxJobs = value;
  }

  const speedField = field(4);
  let speedFactor: number | null = null;
  if (speedField !== null) {
    if (dialect.speedFactor === "float") {
      const value = parseFloatLikeNix(speedField.text);
      if (value === null) fail(speedField, `${BAD_SPEC}: failed to convert column #4 to 'float'`, HINTS.speedFactor);
      // Checked after 0 is turned into 1, so only negatives fail (docs/nix-machines-file.md#speed-factor).
      if (value! < 0) fail(speedField, "speed factor must be >= 0", HINTS.speedFactor);
      speedFactor = value;
    } else {
      const value =
        dialect.speedFactor === "stoull" ? stoullAsUnsigned(speedField.text) : unsignedIntLikeNix(speedField.text);
      if (value === null) {
        const asFloat = parseFloatLikeNix(speedField.text);
        const fractional = asFloat !== null && Number.isFinite(asFloat) && asFloat >= 0;
        const hint = fractional
          ? `${range} reads only a whole number here; Nix ${FRACTIONAL_SPEED_SINCE} and later accept '${speedField.text}'. The nearest whole number is ${nearestWholeSpeedFactor(asFloat)} (docs/nix-machines-file.md#speed-factor)`
          : `column #4 is the speed factor: a whole number >= 0 on ${range}, or '-' for 1`;
        fail(
          speedField,
          dialect.speedFactor === "stoull"
            ? STOULL_WHY(4, range)
            : `${BAD_SPEC}: failed to convert column #4 to 'unsigned int'`,
          hint,
        );
      }
      speedFactor = value;
    }
  }

  const hostKeyField = field(7);
  if (hostKeyField !== null && dialect.checksHostKey) {
    const bad = invalidBase64Character(hostKeyField.text);
    if (bad !== null) {
      fail(
        hostKeyField,
        `${BAD_SPEC}: column #7 is not valid base64: invalid character in Base64 string: '${bad}'`,
        HINTS.hostKey,
      );
    }
  }

  return {
    uri: uri.text,
    systems: commaList(field(1)),
    sshKey: field(2)?.text ?? null,
    maxJobs,
    speedFactor,
    supportedFeatures: commaList(field(5)),
    mandatoryFeatures: commaList(field(6)),
    hostKey: hostKeyField?.text ?? null,
  };
}

const STOULL_WHY = (column: number, range: string) =>
  `${BAD_SPEC}: column #${column} is not a number (${range} stops with "error: stoull")`;

/**
 * string2Int<unsigned int> (2.5+): boost::lexical_cast after refusing a leading '-'; a leading
 * '+' passes (checked against Nix 2.8), anything else but digits or an overflow fails.
 */
function unsignedIntLikeNix(text: string): number | null {
  if (!/^\+?[0-9]+$/.test(text)) return null;
  const value = Number(text);
  return value <= MAX_UNSIGNED_INT ? value : null;
}

/**
 * std::stoull then a cast to unsigned int (2.3, 2.4): the longest decimal prefix is read (so
 * '2.5' is 2 and '3x' is 3), a leading '-' wraps around, no digits or an overflow throws
 * (docs/nix-machines-file.md#numbers).
 */
function stoullAsUnsigned(text: string): number | null {
  const match = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/.exec(text);
  if (match === null) return null;
  const modulus = 1n << 64n;
  let value = BigInt(match[2]!);
  if (value >= modulus) return null;
  if (match[1] === "-") value = (modulus - value) % modulus;
  return Number(value % (1n << 32n));
}

// tokenizeString(field, ","): empty pieces vanish, so "a,,b" is [a, b].
function commaList(token: Piece | null): string[] {
  return token === null ? [] : token.text.split(",").filter((item) => item !== "");
}

/** string2Float<float> is boost::lexical_cast: decimal and exponent forms, inf and nan (inferred). */
function parseFloatLikeNix(text: string): number | null {
  if (/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(text)) return Number(text);
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special === null) return null;
  if (special[2]!.toLowerCase() === "nan") return Number.NaN;
  return special[1] === "-" ? -Infinity : Infinity;
}

/**
 * Nix's builder slot count and speed for an entry: unset means 1, and a speed of 0 means 1 in
 * every version (docs/nix-machines-file.md#speed-factor).
 */
export function effectiveMaxJobs(entry: MachineEntry): number {
  return entry.maxJobs ?? 1;
}

export function effectiveSpeedFactor(entry: MachineEntry): number {
  return entry.speedFactor === null || entry.speedFactor === 0 ? 1 : entry.speedFactor;
}

/**
 * The store URI Nix connects to (docs/nix-machines-file.md#store-uri). 2.4 and later: `ssh://`
 * is put in front unless the URI contains "://" or "/", is auto/daemon/local, or starts with
 * auto?, daemon?, local? or ?. Before 2.4: unless it contains "://" or starts with local,
 * remote, auto or /.
 */
export function normalizeStoreUri(uri: string, dialect: MachinesDialect = NEWEST_DIALECT): string {
  if (dialect.uriRule === "2.3") {
    const kept23 = uri.includes("://") || ["local", "remote", "auto", "/"].some((prefix) => uri.startsWith(prefix));
    return kept23 ? uri : `ssh://${uri}`;
  }
  const kept =
    uri.includes("://") ||
    uri.includes("/") ||
    ["auto", "daemon", "local"].includes(uri) ||
    ["auto?", "daemon?", "local?", "?"].some((prefix) => uri.startsWith(prefix));
  return kept ? uri : `ssh://${uri}`;
}

export { isKnownSystem, looksLikeSystem } from "../../nix/systems.js";

// Characters that would end or split a field, or start a comment or a new entry, when rendered.
const FIELD_BREAKERS = /[\s#;]/;
const LIST_ITEM_BREAKERS = /[\s#;,]/;
const STRICT_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Throws BAD_INPUT naming the first field that formatEntry could not write so that Nix reads
 * back the same entry. Stricter than the parser: crossnix writes only well-formed values.
 */
export function validateEntry(entry: MachineEntry): void {
  const { uri, sshKey, maxJobs, speedFactor, hostKey } = entry;
  if (uri === "" || uri === "-" || uri.startsWith("@") || FIELD_BREAKERS.test(uri)) {
    throw badInput("store URI", uri, "it must be one word, not '-', not starting with '@', without '#' or ';'");
  }
  for (const system of entry.systems) {
    if (!looksLikeSystem(system))
      throw badInput("system", system, "a system looks like <arch>-<os>, e.g. aarch64-linux");
  }
  if (sshKey !== null && (sshKey === "" || sshKey === "-" || FIELD_BREAKERS.test(sshKey))) {
    throw badInput(
      "ssh key path",
      sshKey,
      "the machines file cannot hold a path that is empty, '-', or has spaces, '#' or ';'",
    );
  }
  if (maxJobs !== null && !(Number.isInteger(maxJobs) && maxJobs >= 0 && maxJobs <= MAX_UNSIGNED_INT)) {
    throw badInput("max jobs", maxJobs, "it must be a whole number >= 0");
  }
  if (speedFactor !== null && !(Number.isFinite(speedFactor) && speedFactor >= 0)) {
    throw badInput("speed factor", speedFactor, "it must be a number >= 0");
  }
  for (const [field, list] of [
    ["feature", entry.supportedFeatures],
    ["mandatory feature", entry.mandatoryFeatures],
  ] as const) {
    for (const feature of list) {
      if (feature === "" || feature === "-" || LIST_ITEM_BREAKERS.test(feature)) {
        throw badInput(field, feature, "a feature is one word without ',', '#' or ';'");
      }
    }
  }
  if (hostKey !== null && !STRICT_BASE64.test(hostKey)) {
    throw badInput("host key", hostKey, "it must be base64 (of a line like 'ssh-ed25519 AAAA…')");
  }
}

/** One machines line: fields separated by one space, '-' for unset fields before a set one. */
export function formatEntry(entry: MachineEntry): string {
  validateEntry(entry);
  const list = (items: string[]) => (items.length === 0 ? null : items.join(","));
  const fields: (string | null)[] = [
    entry.uri,
    list(entry.systems),
    entry.sshKey,
    entry.maxJobs === null ? null : String(entry.maxJobs),
    entry.speedFactor === null ? null : String(entry.speedFactor),
    list(entry.supportedFeatures),
    list(entry.mandatoryFeatures),
    entry.hostKey,
  ];
  while (fields.length > 1 && fields[fields.length - 1] === null) fields.pop();
  return fields.map((value) => value ?? "-").join(" ");
}

const BASE64_ALPHABET = /^[A-Za-z0-9+/]$/;

/**
 * Nix's base64 decoder: it stops at the first '=', skips '\n' and rejects any other character
 * outside the alphabet; the length is not checked (docs/nix-machines-file.md#fields). Returns the first bad character.
 */
function invalidBase64Character(text: string): string | null {
  for (const char of text) {
    if (char === "=") return null;
    if (char !== "\n" && !BASE64_ALPHABET.test(char)) return char;
  }
  return null;
}

/** The public-key line in a column-8 value, e.g. "ssh-ed25519 AAAA…", without a trailing newline. */
export function decodeHostKey(base64: string): string {
  const bad = invalidBase64Character(base64);
  if (bad !== null) throw badInput("host key", base64, `invalid character in Base64 string: '${bad}'`, HINTS.hostKey);
  const significant = base64.split("=")[0]!.replaceAll("\n", "");
  const decoded = Buffer.from(significant, "base64")
    .toString("utf8")
    .replace(/[\r\n]+$/, "");
  if (decoded === "") throw badInput("host key", base64, "it decodes to nothing", HINTS.hostKey);
  return decoded;
}

const KEY_TYPE = /^(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9-]+@openssh\.com)$/;

/**
 * The column-8 value for a public key. Accepts `type key [comment]` (a .pub file) or
 * `host type key` (ssh-keyscan, known_hosts). Encodes only `type key`: no comment, no newline.
 * The manual's `base64 -w0 key.pub` keeps both, which Nix accepts too (it writes the decoded
 * line into a known_hosts file), but the short form is stable across key-file comments.
 */
export function encodeHostKey(publicKeyLine: string): string {
  const [type, key] = publicKeyFields(publicKeyLine);
  return Buffer.from(`${type} ${key}`, "utf8").toString("base64");
}

/** True when two column-8 values pin the same key (comments and newlines aside). */
export function sameHostKey(a: string, b: string): boolean {
  const [typeA, keyA] = decodeHostKey(a).split(/[ \t]+/);
  const [typeB, keyB] = decodeHostKey(b).split(/[ \t]+/);
  return typeA === typeB && keyA === keyB;
}

function publicKeyFields(line: string): [string, string] {
  const words = line.trim().split(/\s+/);
  const at = KEY_TYPE.test(words[0] ?? "") ? 0 : KEY_TYPE.test(words[1] ?? "") ? 1 : -1;
  const type = words[at];
  const key = words[at + 1];
  const why = "expected a public-key line like 'ssh-ed25519 AAAAC3Nza… [comment]'";
  if (at === -1 || type === undefined || key === undefined) throw badInput("public key", line, why);
  if (!STRICT_BASE64.test(key) || blobKeyType(key) !== type) {
    throw badInput("public key", line, `its key data is not a '${type}' key`);
  }
  return [type, key];
}

/** An SSH key blob starts with its type as a length-prefixed string (RFC 4253 §6.6). */
function blobKeyType(base64: string): string | null {
  const blob = Buffer.from(base64, "base64");
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length > blob.length - 4) return null;
  return blob.subarray(4, 4 + length).toString("latin1");
}

export function isParseError(error: unknown): error is CrossnixError {
  return error instanceof CrossnixError && error.code === "PARSE";
}
