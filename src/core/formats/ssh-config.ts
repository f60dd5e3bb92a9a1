// ssh_config as a lossless model: parse as OpenSSH does, render, edit crossnix's Host blocks.
// One file because the model, the directive parser and the block edits share the same line records.
import { badInput, CrossnixError, parseError } from "../../errors.js";

/**
 * Lossless model of an ssh_config file. Every physical line is kept as written; rendering
 * joins `text + eol`, so parse → render gives back the input bytes. Directives are also
 * interpreted the way OpenSSH's readconf.c does (keyword, optional `=`, arguments split with
 * quotes and `\` escapes, a `#` at the start of an argument ends the line), so edits and
 * queries see what ssh sees.
 */
export interface SshConfig {
  readonly fileName: string;
  readonly lines: readonly SshConfigLine[];
}

export interface SshConfigLine {
  /** The line without its terminator. */
  readonly text: string;
  readonly eol: Eol;
  /** null for lines ssh ignores: blank lines and comments. */
  readonly directive: Directive | null;
}

type Eol = "\n" | "\r\n" | "";

export interface Directive {
  /** As written, e.g. `HostName`. ssh compares keywords case-insensitively. */
  readonly keyword: string;
  /** Lowercased keyword. */
  readonly key: string;
  /** Arguments as ssh splits them: quotes removed, escapes resolved, trailing comment dropped. */
  readonly args: readonly string[];
  /** `args` joined by spaces; for the *Command keywords, the raw rest of the line (ssh passes it to a shell). */
  readonly value: string;
}

export interface HostOption {
  /** Keyword as written. */
  key: string;
  value: string;
  args: string[];
  line: number;
}

export interface HostBlock {
  patterns: string[];
  /** 1-based line of the `Host` keyword. */
  line: number;
  options: HostOption[];
  /** `X` from a `# managed by X` comment inside the block, else null. */
  managedBy: string | null;
}

export interface IncludeDirective {
  paths: string[];
  line: number;
  /** Patterns of the enclosing `Host` line, or the `Match` arguments; null at top level. */
  conditional: string[] | null;
}

export interface AliasOptions {
  hostName: string;
  port?: number;
  user?: string;
  identityFile?: string;
}

// readconf.c: the value of these is handed to a shell as-is, so an empty or comment-like value is accepted.
const COMMAND_KEYWORDS = new Set(["proxycommand", "localcommand", "remotecommand", "knownhostscommand"]);

// Keywords that OpenSSH 9 rejects ("Missing argument") when the value is only a comment.
// Other list-valued keywords (Host, Include, SendEnv, SetEnv, …) accept that, and unknown
// keywords are left alone so that `IgnoreUnknown` keeps working.
const NEEDS_ARGUMENT = new Set([
  "hostname",
  "port",
  "user",
  "identityfile",
  "identitiesonly",
  "identityagent",
  "certificatefile",
  "hostkeyalias",
  "proxyjump",
  "stricthostkeychecking",
  "controlmaster",
  "controlpath",
  "controlpersist",
  "forwardagent",
  "batchmode",
  "compression",
  "connecttimeout",
  "connectionattempts",
  "serveraliveinterval",
  "serveralivecountmax",
  "loglevel",
  "addkeystoagent",
  "addressfamily",
  "pubkeyauthentication",
  "passwordauthentication",
  "hostkeyalgorithms",
  "kexalgorithms",
  "ciphers",
  "macs",
  "requesttty",
  "localforward",
  "remoteforward",
  "dynamicforward",
  "updatehostkeys",
  "checkhostip",
  "tcpkeepalive",
  "match",
]);

const MANAGED_BY = /^managed by\s+(\S.*?)\s*$/i;

export function parseSshConfig(text: string, fileName: string): SshConfig {
  const lines = splitLines(text).map(({ text: lineText, eol }, i) => ({
    text: lineText,
    eol,
    directive: parseDirective(lineText, fileName, i + 1),
  }));
  return { fileName, lines };
}

export function renderSshConfig(c: SshConfig): string {
  return c.lines.map((l) => l.text + l.eol).join("");
}

export function listHostBlocks(c: SshConfig): HostBlock[] {
  return blocks(c)
    .filter((b) => b.isHost)
    .map((b) => toHostBlock(c, b));
}

/** The first block whose `Host` line is exactly `Host <alias>` (one pattern). */
export function findHostBlock(c: SshConfig, alias: string): HostBlock | undefined {
  const b = findExactBlock(c, alias);
  return b && toHostBlock(c, b);
}

/**
 * Makes `Host <alias>` carry exactly `options`. A block that carries `marker` is replaced in
 * place; when there is none, a new block is appended after a blank line. Everything else keeps
 * its bytes, and an unchanged block returns `c` itself. A block of that alias without the
 * marker belongs to someone else: CONFLICT.
 */
export function upsertHostBlock(c: SshConfig, alias: string, options: [string, string][], marker: string): SshConfig {
  const eol = eolStyle(c);
  const fresh = blockLines(alias, options, marker, c.fileName, eol);
  const existing = findExactBlock(c, alias);

  if (existing) {
    if (!carriesMarker(c, existing, marker)) {
      throw new CrossnixError(
        "CONFLICT",
        `${c.fileName}:${existing.start + 1}: 'Host ${alias}' is not managed by crossnix`,
        {
          hint: `Rename or remove that block, or choose another builder name.`,
          detail: { file: c.fileName, line: existing.start + 1, alias },
        },
      );
    }
    const end = lastSignificant(c, existing, marker);
    const old = c.lines.slice(existing.start, end + 1);
    fresh[fresh.length - 1] = { ...fresh[fresh.length - 1]!, eol: old[old.length - 1]!.eol };
    if (old.length === fresh.length && old.every((l, i) => l.text === fresh[i]!.text && l.eol === fresh[i]!.eol)) {
      return c;
    }
    return { ...c, lines: [...c.lines.slice(0, existing.start), ...fresh, ...c.lines.slice(end + 1)] };
  }

  if (c.lines.length === 0) return { ...c, lines: fresh };
  const lines = [...c.lines];
  const last = lines[lines.length - 1]!;
  if (last.eol === "") {
    // Keep the file's "no newline at end" shape, so that removing the block restores it.
    lines[lines.length - 1] = { ...last, eol };
    fresh[fresh.length - 1] = { ...fresh[fresh.length - 1]!, eol: "" };
  }
  return { ...c, lines: [...lines, { text: "", eol, directive: null }, ...fresh] };
}

/**
 * Removes the `Host <alias>` block that carries `marker`, with the blank line that separates it
 * from what precedes it (or, for a block at the very top, the blank line after it). Returns `c`
 * when there is no such block; a block without the marker is never touched.
 */
export function removeHostBlock(c: SshConfig, alias: string, marker: string): SshConfig {
  const b = findExactBlock(c, alias);
  if (!b || !carriesMarker(c, b, marker)) return c;
  let from = b.start;
  let to = lastSignificant(c, b, marker);
  if (from > 0 && isBlank(c.lines[from - 1]!)) from--;
  else if (from === 0 && to + 1 < c.lines.length && isBlank(c.lines[to + 1]!)) to++;

  const lines = [...c.lines.slice(0, from), ...c.lines.slice(to + 1)];
  const removedLast = c.lines[to]!;
  if (to === c.lines.length - 1 && removedLast.eol === "" && lines.length > 0) {
    lines[lines.length - 1] = { ...lines[lines.length - 1]!, eol: "" };
  }
  return { ...c, lines };
}

/**
 * The pattern of every `Host` block that applies to `host`, in file order (one per block, `*`
 * included). Like ssh: `*` and `?` wildcards, a matching `!pattern` disqualifies the block, and
 * the name is compared as typed (OpenSSH matches Host lines before lowercasing the host name).
 */
export function aliasesMatching(c: SshConfig, host: string): string[] {
  const matched: string[] = [];
  for (const b of blocks(c)) {
    if (!b.isHost) continue;
    const hit = matchPatternList(b.patterns, host, false);
    if (hit !== null) matched.push(hit);
  }
  return matched;
}

/** `Include` directives, so a caller can follow them to every file ssh reads. */
export function listIncludes(c: SshConfig): IncludeDirective[] {
  const found: IncludeDirective[] = [];
  let conditional: string[] | null = null;
  c.lines.forEach((l, i) => {
    const d = l.directive;
    if (!d) return;
    if (d.key === "host" || d.key === "match") conditional = [...d.args];
    else if (d.key === "include") found.push({ paths: [...d.args], line: i + 1, conditional });
  });
  return found;
}

/** The options crossnix writes for a builder alias, in order. */
export function aliasBlockOptions(alias: string, o: AliasOptions): [string, string][] {
  checkAlias(alias);
  if (!o.hostName || /[\s%]/.test(o.hostName)) {
    throw badInput("host name", o.hostName, "must be a host name or address without spaces or '%'");
  }
  const options: [string, string][] = [["HostName", o.hostName]];
  if (o.port !== undefined) {
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw badInput("port", o.port, "must be 1-65535");
    options.push(["Port", String(o.port)]);
  }
  if (o.user !== undefined) {
    // OpenSSH ≥ 9.6 expands %-tokens and ${VAR} in User; older versions do not, so neither can be written portably.
    if (!o.user || /[\s%$]/.test(o.user))
      throw badInput("user", o.user, "must not be empty or contain spaces, '%' or '$'");
    options.push(["User", o.user]);
  }
  if (o.identityFile !== undefined) {
    // IdentityFile expands %-tokens and ${VAR}; '%%' is a literal '%', '$' has no escape.
    if (!o.identityFile || o.identityFile.includes("$")) {
      throw badInput("identity file", o.identityFile, "must not be empty or contain '$'");
    }
    options.push(["IdentityFile", o.identityFile.replaceAll("%", "%%")]);
    // Without an IdentityFile this would also stop ssh from offering the agent's keys.
    options.push(["IdentitiesOnly", "yes"]);
  }
  // A pinned host key is looked up under the alias whatever the port (DESIGN.md, "Where things live").
  options.push(["HostKeyAlias", alias]);
  return options;
}

/** The crossnix block for a builder alias, newline-terminated. */
export function renderAliasBlock(alias: string, o: AliasOptions, marker: string): string {
  return blockText(alias, aliasBlockOptions(alias, o), marker, "\n");
}

/** One ssh_config argument: bare when it can be, else double-quoted. */
export function quoteConfigValue(value: string): string {
  // Backslashes and quotes mean different things to OpenSSH before and after 8.7; refuse them.
  if (/["\\\p{Cc}]/u.test(value)) {
    throw badInput("ssh_config value", value, "must not contain quotes, backslashes or control characters");
  }
  if (value === "") throw badInput("ssh_config value", value, "must not be empty");
  // '=' first would be read as the keyword separator.
  if (/[\s'#]|^=/.test(value)) return `"${value}"`;
  return value;
}

// ---------------------------------------------------------------------------------------------

interface Block {
  start: number;
  /** Exclusive: the next Host/Match line, or the end of the file. */
  end: number;
  isHost: boolean;
  patterns: string[];
}

function blocks(c: SshConfig): Block[] {
  const found: Block[] = [];
  c.lines.forEach((l, i) => {
    const d = l.directive;
    if (!d || (d.key !== "host" && d.key !== "match")) return;
    const prev = found[found.length - 1];
    if (prev) prev.end = i;
    found.push({ start: i, end: c.lines.length, isHost: d.key === "host", patterns: [...d.args] });
  });
  return found;
}

function findExactBlock(c: SshConfig, alias: string): Block | undefined {
  return blocks(c).find((b) => b.isHost && b.patterns.length === 1 && b.patterns[0] === alias);
}

function toHostBlock(c: SshConfig, b: Block): HostBlock {
  const options: HostOption[] = [];
  let managedBy: string | null = null;
  for (let i = b.start + 1; i < b.end; i++) {
    const l = c.lines[i]!;
    if (l.directive) {
      options.push({ key: l.directive.keyword, value: l.directive.value, args: [...l.directive.args], line: i + 1 });
    } else if (managedBy === null) {
      managedBy = MANAGED_BY.exec(commentText(l) ?? "")?.[1] ?? null;
    }
  }
  return { patterns: [...b.patterns], line: b.start + 1, options, managedBy };
}

/**
 * The last line that belongs to the block for editing: its last directive or marker comment.
 * Blank lines and comments after it (often about the next block) stay where they are.
 */
function lastSignificant(c: SshConfig, b: Block, marker: string): number {
  let last = b.start;
  for (let i = b.start + 1; i < b.end; i++) {
    const l = c.lines[i]!;
    const comment = commentText(l);
    if (l.directive || (comment !== null && (comment === markerText(marker) || MANAGED_BY.test(comment)))) last = i;
  }
  return last;
}

function carriesMarker(c: SshConfig, b: Block, marker: string): boolean {
  const wanted = markerText(marker);
  return c.lines.slice(b.start + 1, b.end).some((l) => commentText(l) === wanted);
}

function markerText(marker: string): string {
  return marker.trim().replace(/^#\s*/, "");
}

/** The text after `#` of a comment line, trimmed; null for other lines. */
function commentText(l: SshConfigLine): string | null {
  if (l.directive) return null;
  const m = /^[ \t\r]*#(.*)$/.exec(l.text);
  return m ? m[1]!.trim() : null;
}

function isBlank(l: SshConfigLine): boolean {
  return /^[ \t\r\f]*$/.test(l.text);
}

function eolStyle(c: SshConfig): "\n" | "\r\n" {
  return c.lines.find((l) => l.eol !== "")?.eol === "\r\n" ? "\r\n" : "\n";
}

function checkAlias(alias: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(alias)) {
    throw badInput("alias", alias, "must be letters, digits, '.', '_' or '-' (no wildcards, spaces or '%')");
  }
}

function blockText(alias: string, options: [string, string][], marker: string, eol: string): string {
  checkAlias(alias);
  const comment = markerText(marker);
  if (!comment || /\p{Cc}/u.test(comment)) throw badInput("marker", marker, "must be a one-line comment");
  const lines = [`Host ${alias}`, `  # ${comment}`];
  for (const [key, value] of options) {
    if (!/^[A-Za-z]+$/.test(key)) throw badInput("ssh_config keyword", key, "must be letters only");
    if (key.toLowerCase() === "host" || key.toLowerCase() === "match") {
      throw badInput("ssh_config keyword", key, "would start a new block");
    }
    lines.push(`  ${key} ${quoteConfigValue(value)}`);
  }
  return lines.map((l) => l + eol).join("");
}

function blockLines(
  alias: string,
  options: [string, string][],
  marker: string,
  fileName: string,
  eol: "\n" | "\r\n",
): SshConfigLine[] {
  return [...parseSshConfig(blockText(alias, options, marker, eol), fileName).lines];
}

function splitLines(text: string): { text: string; eol: Eol }[] {
  const parts = text.split("\n");
  const lines = parts.map((part, i): { text: string; eol: Eol } => {
    if (i === parts.length - 1) return { text: part, eol: "" };
    return part.endsWith("\r") ? { text: part.slice(0, -1), eol: "\r\n" } : { text: part, eol: "\n" };
  });
  if (lines[lines.length - 1]!.text === "") lines.pop();
  return lines;
}

const WS = " \t\r\n";

function isWs(ch: string | undefined): boolean {
  return ch !== undefined && WS.includes(ch);
}

/**
 * One line, read like readconf.c's process_config_line: trailing whitespace (and form feeds)
 * dropped, an optional `=` between keyword and value, then the value split into arguments.
 * Returns null for lines ssh ignores; throws for lines ssh refuses.
 */
function parseDirective(text: string, file: string, lineNo: number): Directive | null {
  const body = text.replace(/[ \t\r\n\f]+$/, "");
  let i = 0;
  while (isWs(body[i])) i++;
  if (body[i] === "=") {
    i++;
    while (isWs(body[i])) i++;
  }
  const keywordColumn = i + 1;
  if (i >= body.length || body[i] === "#") return null;

  // The keyword ends at whitespace, '=' or a double quote; a quoted stretch ends it too (strdelim).
  let keyword = "";
  let quoted = false;
  for (; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === '"') {
      const close = body.indexOf('"', i + 1);
      if (close < 0) return null; // ssh skips such a line without a word
      keyword += body.slice(i + 1, close);
      i = close + 1;
      quoted = true;
      break;
    }
    if (isWs(ch) || ch === "=") break;
    keyword += ch;
  }
  if (keyword === "" || keyword.startsWith("#")) return null;

  while (isWs(body[i])) i++;
  if (body[i] === "=" && !quoted) {
    i++;
    while (isWs(body[i])) i++;
  }
  const key = keyword.toLowerCase();
  if (i >= body.length) {
    throw parseError(file, lineNo, keywordColumn, text, `no argument after keyword '${keyword}'`);
  }
  const rest = body.slice(i);
  const args = splitArgs(rest, (offset) => parseError(file, lineNo, i + offset + 1, text, "unterminated quote"));
  const valueColumn = i + 1;
  if (key === "host" && args.some((a) => a === "")) {
    throw parseError(file, lineNo, valueColumn, text, "empty Host pattern");
  }
  if (args.length === 0 && NEEDS_ARGUMENT.has(key)) {
    throw parseError(file, lineNo, valueColumn, text, `missing argument for '${keyword}'`);
  }
  const value = COMMAND_KEYWORDS.has(key) ? rest.replace(/^[ \t\r\n=]+/, "") : args.join(" ");
  return { keyword, key, args, value };
}

/**
 * misc.c argv_split with terminate_on_comment: arguments separated by spaces/tabs, single or
 * double quotes group, `\` escapes a quote, a backslash, or (outside quotes) a space; a `#` at
 * the start of an argument ends the line.
 */
function splitArgs(s: string, unterminated: (offset: number) => CrossnixError): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === " " || s[i] === "\t") {
      i++;
      continue;
    }
    if (s[i] === "#") break;
    let arg = "";
    let quote: string | null = null;
    let quoteAt = 0;
    for (; i < s.length; i++) {
      const ch = s[i]!;
      const next = s[i + 1];
      if (ch === "\\" && (next === "'" || next === '"' || next === "\\" || (quote === null && next === " "))) {
        arg += next;
        i++;
      } else if (quote === null && (ch === " " || ch === "\t")) {
        break;
      } else if (quote === null && (ch === '"' || ch === "'")) {
        quote = ch;
        quoteAt = i;
      } else if (quote !== null && ch === quote) {
        quote = null;
      } else {
        arg += ch;
      }
    }
    if (quote !== null) throw unterminated(quoteAt);
    args.push(arg);
  }
  return args;
}

/**
 * ssh's pattern-list rule: the first positive pattern that matches, unless a `!pattern` matches.
 * Returns the matching pattern, or null. known_hosts matching ignores case; Host lines do not.
 */
export function matchPatternList(patterns: readonly string[], name: string, ignoreCase: boolean): string | null {
  const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  let hit: string | null = null;
  for (const p of patterns) {
    if (p.startsWith("!")) {
      if (globMatch(fold(p.slice(1)), fold(name))) return null;
    } else if (hit === null && globMatch(fold(p), fold(name))) {
      hit = p;
    }
  }
  return hit;
}

/** OpenSSH match_pattern: `*` any run of characters, `?` exactly one, everything else literal. */
export function globMatch(pattern: string, s: string): boolean {
  const p = [...pattern];
  const t = [...s];
  let pi = 0;
  let ti = 0;
  let starP = -1;
  let starT = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === "?" || (p[pi] !== "*" && p[pi] === t[ti]))) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === "*") {
      starP = pi++;
      starT = ti;
    } else if (starP >= 0) {
      pi = starP + 1;
      ti = ++starT;
    } else {
      return false;
    }
  }
  while (p[pi] === "*") pi++;
  return pi === p.length;
}
