// known_hosts as a lossless model: parse, render, find a host's keys; fingerprints and ssh-keyscan output.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { badInput } from "../../errors.js";
import { matchPatternList } from "./ssh-config.js";

/**
 * Lossless model of a known_hosts file (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
 * `[@cert-authority|@revoked] hostpatterns keytype base64key [comment]`. Lines ssh would skip
 * are kept verbatim with the reason, so rendering always gives back the input bytes.
 */
export interface KnownHosts {
  readonly fileName: string;
  readonly lines: readonly KnownHostsLine[];
}

export interface KnownHostsLine {
  readonly text: string;
  readonly eol: "\n" | "\r\n" | "";
  /** null for blank lines, comments and bad lines. */
  readonly entry: KnownHostsEntry | null;
  /** Why ssh would skip this line; null for good lines. */
  readonly problem: string | null;
}

export interface KnownHostsEntry {
  readonly marker: "@cert-authority" | "@revoked" | null;
  /** The host field as written: comma-separated patterns, or one hashed `|1|salt|hash`. */
  readonly hosts: string;
  readonly keyType: string;
  readonly key: string;
  readonly comment: string;
}

export interface KnownHostsProblem {
  line: number;
  text: string;
  problem: string;
}

export interface HostKey {
  keyType: string;
  key: string;
}

export function parseKnownHosts(text: string, fileName: string): KnownHosts {
  const lines = text.split("\n").map((part, i, parts): KnownHostsLine => {
    const last = i === parts.length - 1;
    const crlf = !last && part.endsWith("\r");
    const lineText = crlf ? part.slice(0, -1) : part;
    const { entry, problem } = parseLine(lineText);
    return { text: lineText, eol: last ? "" : crlf ? "\r\n" : "\n", entry, problem };
  });
  if (lines[lines.length - 1]!.text === "") lines.pop();
  return { fileName, lines };
}

export function renderKnownHosts(k: KnownHosts): string {
  return k.lines.map((l) => l.text + l.eol).join("");
}

export function listProblems(k: KnownHosts): KnownHostsProblem[] {
  const problems: KnownHostsProblem[] = [];
  k.lines.forEach((l, i) => {
    if (l.problem !== null)
      problems.push({ line: i + 1, text: l.text, problem: `${k.fileName}:${i + 1}: ${l.problem}` });
  });
  return problems;
}

/**
 * Keys ssh would accept for `host` (and `port`), in file order: the name looked up is `host`
 * for port 22 and `[host]:port` otherwise, matched against plain patterns (wildcards,
 * `!negation`) and hashed entries. `@cert-authority` and `@revoked` lines are not host keys.
 */
export function findHostKeys(k: KnownHosts, host: string, port?: number): (HostKey & { line: number })[] {
  const name = hostKeyName(host, port);
  const found: (HostKey & { line: number })[] = [];
  k.lines.forEach((l, i) => {
    const e = l.entry;
    if (e && e.marker === null && hostsFieldMatches(e.hosts, name)) {
      found.push({ keyType: e.keyType, key: e.key, line: i + 1 });
    }
  });
  return found;
}

/** `keytype base64key [comment]`, as in a .pub file or a decoded Nix host-key column. */
export function parsePublicKeyLine(line: string): HostKey & { comment: string } {
  const m = /^[ \t]*(\S+)[ \t]+(\S+)(?:[ \t]+(.*?))?[ \t\r\n]*$/.exec(line);
  if (!m) throw badInput("public key", line, "expected '<type> <base64 key> [comment]'");
  const problem = keyProblem(m[1]!, m[2]!);
  if (problem) throw badInput("public key", line, problem);
  return { keyType: m[1]!, key: m[2]!, comment: m[3] ?? "" };
}

/** `SHA256:<unpadded base64>`, the fingerprint `ssh-keygen -lf` prints. */
export function fingerprintSha256(keyBase64: string): string {
  const blob = decodeBase64(keyBase64);
  if (!blob) throw badInput("public key", keyBase64, "not valid base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** ssh-keyscan stdout (`host keytype key` or `[host]:port keytype key`); '#' and malformed lines are skipped. */
export function parseKeyscanOutput(stdout: string): { host: string; port: number; keyType: string; key: string }[] {
  const keys: { host: string; port: number; keyType: string; key: string }[] = [];
  for (const raw of stdout.split("\n")) {
    const fields = raw.trim().split(/[ \t]+/);
    if (fields.length < 3 || fields[0]!.startsWith("#")) continue;
    const [hostField, keyType, key] = fields as [string, string, string];
    if (keyProblem(keyType, key)) continue;
    const bracketed = /^\[(.+)\]:(\d+)$/.exec(hostField);
    if (bracketed) keys.push({ host: bracketed[1]!, port: Number(bracketed[2]), keyType, key });
    else keys.push({ host: hostField, port: 22, keyType, key });
  }
  return keys;
}

// ed25519 first: small, fast, no parameter choices; then ECDSA; RSA last (DSA is off in OpenSSH ≥ 7.0).
const PREFERENCE = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"];

export function preferredHostKey<K extends HostKey>(keys: readonly K[]): K | undefined {
  let best: K | undefined;
  let bestRank = PREFERENCE.length;
  for (const k of keys) {
    const rank = PREFERENCE.indexOf(k.keyType);
    if (rank >= 0 && rank < bestRank) {
      best = k;
      bestRank = rank;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------

/** How ssh names a host in known_hosts: bare for port 22, `[host]:port` otherwise (misc.c put_host_port). */
function hostKeyName(host: string, port: number | undefined): string {
  const name = host.toLowerCase();
  return port === undefined || port === 22 ? name : `[${name}]:${port}`;
}

function hostsFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith("|1|")) return hashedMatches(hosts, name);
  return matchPatternList(hosts.split(","), name, true) !== null;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as written by `ssh-keygen -H` / HashKnownHosts. */
function hashedMatches(hosts: string, name: string): boolean {
  const parts = hosts.split("|");
  const salt = decodeBase64(parts[2] ?? "");
  const hash = decodeBase64(parts[3] ?? "");
  if (parts.length !== 4 || !salt || hash?.length !== 20) return false;
  const mine = createHmac("sha1", salt).update(name).digest();
  return timingSafeEqual(mine, hash);
}

function parseLine(text: string): { entry: KnownHostsEntry | null; problem: string | null } {
  const body = text.replace(/[ \t\r]+$/, "");
  const rest = body.replace(/^[ \t]+/, "");
  if (rest === "" || rest.startsWith("#")) return { entry: null, problem: null };

  let pos = 0;
  const nextField = (): string | undefined => {
    const m = /^([^ \t]+)[ \t]*/.exec(rest.slice(pos));
    if (!m) return undefined;
    pos += m[0].length;
    return m[1];
  };
  let marker: KnownHostsEntry["marker"] = null;
  if (rest.startsWith("@")) {
    const word = nextField();
    if (word !== "@cert-authority" && word !== "@revoked") return { entry: null, problem: `unknown marker '${word}'` };
    marker = word;
  }
  const hosts = nextField();
  const keyType = nextField();
  const key = nextField();
  if (hosts === undefined || keyType === undefined || keyType.startsWith("#") || key === undefined) {
    return { entry: null, problem: "expected '[marker] hosts keytype key [comment]'" };
  }
  const problem = hostsFieldProblem(hosts) ?? keyProblem(keyType, key);
  if (problem) return { entry: null, problem };
  return { entry: { marker, hosts, keyType, key, comment: rest.slice(pos) }, problem: null };
}

function hostsFieldProblem(hosts: string): string | null {
  if (!hosts.startsWith("|")) return null;
  const parts = hosts.split("|");
  if (parts[1] !== "1" || parts.length !== 4) return `unsupported hashed host '${hosts}'`;
  const salt = decodeBase64(parts[2]!);
  const hash = decodeBase64(parts[3]!);
  // hostfile.c extract_salt: salt and hash are both SHA-1 sized.
  if (salt?.length !== 20 || hash?.length !== 20) return `malformed hashed host '${hosts}'`;
  return null;
}

/**
 * What sshkey_read would object to: the base64 must decode, and the blob must start with the
 * same key type name as the text (`string type` in the RFC 4253 wire format).
 */
function keyProblem(keyType: string, key: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9@._+-]*$/.test(keyType)) return `invalid key type '${keyType}'`;
  const blob = decodeBase64(key);
  if (!blob) return `key is not valid base64`;
  if (blob.length < 4) return "key blob is truncated";
  const length = blob.readUInt32BE(0);
  if (4 + length > blob.length) return "key blob is truncated";
  const inner = blob.subarray(4, 4 + length).toString("latin1");
  if (inner !== keyType) return `key type '${keyType}' does not match the key's own type '${inner}'`;
  return null;
}

/** Strict standard base64 (padded); null when not. */
function decodeBase64(s: string): Buffer | null {
  if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return null;
  return Buffer.from(s, "base64");
}
