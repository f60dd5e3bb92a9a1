// nix.conf as a lossless model: parse, render, and set or remove settings.
import { type CrossnixError, badInput, parseError } from "../../errors.js";

/**
 * A lossless model of nix.conf: every line keeps its exact bytes (`raw` + `eol`), and what Nix
 * makes of it is derived alongside. Rendering joins the raw bytes back, so parse → render is the
 * identity for any text, and edits rewrite only the lines they touch.
 *
 * The syntax mirrors Nix's parseConfigFiles (src/libutil/configuration.cc, 2.35):
 * - lines are split on '\n' only; a '\r' stays in the line, where it counts as whitespace;
 * - everything from the first '#' is a comment (there is no quoting or escaping);
 * - the rest is split into tokens on space, tab, '\r' and '\n' (tokenizeString's defaults);
 * - no tokens: ignored; one token: syntax error;
 * - `include P` / `!include P`: exactly two tokens, or a syntax error;
 * - otherwise the second token must be exactly `=` (so `a=b` and `a =b` are syntax errors) and
 *   the value is the remaining tokens joined by single spaces.
 */
export interface NixConf {
  fileName: string;
  lines: NixConfLine[];
}

export type NixConfLine =
  | ({ kind: "blank" } & RawLine)
  | ({ kind: "comment" } & RawLine)
  | ({ kind: "setting"; name: string; value: string } & RawLine)
  | ({ kind: "include"; path: string; optional: boolean; column: number } & RawLine)
  | ({ kind: "invalid"; reason: string; column: number } & RawLine);

interface RawLine {
  /** The line's bytes without its '\n' (a CRLF line keeps its '\r' here). */
  raw: string;
  /** "\n", or "" for a last line that has no newline. */
  eol: string;
}

interface Token {
  text: string;
  /** 0-based index in the line. */
  start: number;
}

const SEPARATORS = " \t\r\n";

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && SEPARATORS.includes(text[i]!)) i++;
    if (i >= text.length) break;
    const start = i;
    while (i < text.length && !SEPARATORS.includes(text[i]!)) i++;
    tokens.push({ text: text.slice(start, i), start });
  }
  return tokens;
}

function withoutComment(raw: string): string {
  const hash = raw.indexOf("#");
  return hash === -1 ? raw : raw.slice(0, hash);
}

function parseLine(raw: string, eol: string): NixConfLine {
  const tokens = tokenize(withoutComment(raw));
  const [first, second] = tokens;
  if (first === undefined) return { kind: raw.includes("#") ? "comment" : "blank", raw, eol };
  if (second === undefined) {
    return invalid(
      raw,
      eol,
      first.start,
      first.text.includes("=") ? "write '=' with spaces around it" : "expected 'name = value'",
    );
  }
  if (first.text === "include" || first.text === "!include") {
    if (tokens.length !== 2) return invalid(raw, eol, tokens[2]!.start, `'${first.text}' takes exactly one path`);
    return {
      kind: "include",
      path: second.text,
      optional: first.text === "!include",
      column: second.start + 1,
      raw,
      eol,
    };
  }
  if (second.text !== "=") {
    const why =
      first.text.includes("=") || second.text.startsWith("=")
        ? "write '=' with spaces around it"
        : "expected '=' as the second word";
    return invalid(raw, eol, second.start, why);
  }
  const value = tokens
    .slice(2)
    .map((t) => t.text)
    .join(" ");
  return { kind: "setting", name: first.text, value, raw, eol };
}

function invalid(raw: string, eol: string, index: number, reason: string): NixConfLine {
  return { kind: "invalid", reason, column: index + 1, raw, eol };
}

export function parseNixConf(text: string, fileName: string): NixConf {
  const lines: NixConfLine[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    const end = nl === -1 ? text.length : nl;
    lines.push(parseLine(text.slice(pos, end), nl === -1 ? "" : "\n"));
    pos = end + 1;
  }
  return { fileName, lines };
}

export function renderNixConf(conf: NixConf): string {
  return conf.lines.map((l) => l.raw + l.eol).join("");
}

/** Throws a PARSE error at the first line Nix would reject with "syntax error in configuration line". */
export function validateNixConf(conf: NixConf): void {
  const problem = syntaxErrors(conf)[0];
  if (problem) throw problem;
}

/** Every line Nix would reject, as errors (Nix itself stops at the first). */
export function syntaxErrors(conf: NixConf): CrossnixError[] {
  const errors: CrossnixError[] = [];
  conf.lines.forEach((line, index) => {
    if (line.kind !== "invalid") return;
    // Nix quotes the line with its comment cut off.
    const text = withoutComment(line.raw).trimEnd();
    errors.push(
      parseError(conf.fileName, index + 1, line.column, text, "syntax error in configuration line", line.reason),
    );
  });
  return errors;
}

export function getSetting(conf: NixConf, name: string): { value: string; line: number } | undefined {
  const index = lastAssignment(conf, name);
  if (index === -1) return undefined;
  const line = conf.lines[index] as Extract<NixConfLine, { kind: "setting" }>;
  return { value: line.value, line: index + 1 };
}

/** Every assignment in file order. `extra` is the syntactic `extra-` prefix (note `extra-platforms` is itself a setting). */
export function listSettings(conf: NixConf): { name: string; value: string; line: number; extra: boolean }[] {
  const out: { name: string; value: string; line: number; extra: boolean }[] = [];
  conf.lines.forEach((l, index) => {
    if (l.kind === "setting")
      out.push({ name: l.name, value: l.value, line: index + 1, extra: l.name.startsWith("extra-") });
  });
  return out;
}

/** `column` (1-based) is where the path starts. */
export function listIncludes(conf: NixConf): { path: string; optional: boolean; line: number; column: number }[] {
  const out: { path: string; optional: boolean; line: number; column: number }[] = [];
  conf.lines.forEach((l, index) => {
    if (l.kind === "include") out.push({ path: l.path, optional: l.optional, line: index + 1, column: l.column });
  });
  return out;
}

function lastAssignment(conf: NixConf, name: string): number {
  for (let i = conf.lines.length - 1; i >= 0; i--) {
    const l = conf.lines[i]!;
    if (l.kind === "setting" && l.name === name) return i;
  }
  return -1;
}

function checkName(name: string): void {
  if (!/^[^\s#=]+$/.test(name) || name === "include" || name === "!include") {
    throw badInput("setting name", name, "a nix.conf setting name is one word without '#' or '='");
  }
}

/** The value as Nix will read it back: one line, no '#', whitespace runs collapsed. */
function normaliseValue(name: string, value: string): string {
  if (value.includes("\n") || value.includes("#")) {
    throw badInput(
      `value of ${name}`,
      value,
      "nix.conf values cannot contain a newline or '#' (there is no quoting)",
      name === "builders" ? "put the machines in a file and set builders = @/path/to/file" : undefined,
    );
  }
  return tokenize(value)
    .map((t) => t.text)
    .join(" ");
}

/**
 * Sets `name` by rewriting its last assignment in place (indentation and trailing comment kept),
 * or appends `name = value` at the end, after an optional `# comment` line. Later `extra-name`
 * lines and included files are not considered: they still apply on top.
 */
export function setSetting(conf: NixConf, name: string, value: string, comment?: string): NixConf {
  checkName(name);
  const wanted = normaliseValue(name, value);
  const index = lastAssignment(conf, name);
  if (index !== -1) {
    const line = conf.lines[index] as Extract<NixConfLine, { kind: "setting" }>;
    if (line.value === wanted) return conf;
    const lines = conf.lines.slice();
    lines[index] = parseLine(rewriteValue(line.raw, wanted), line.eol);
    return { ...conf, lines };
  }
  return appendSetting(conf, name, value, comment);
}

/**
 * A new `name = value` line (after an optional comment) at the end of the file, even when the file
 * assigns it earlier: the way to win over an `include` further down that sets it again.
 */
export function appendSetting(conf: NixConf, name: string, value: string, comment?: string): NixConf {
  checkName(name);
  const wanted = normaliseValue(name, value);
  const lines = conf.lines.slice();
  const cr = usesCrlf(conf) ? "\r" : "";
  const last = lines[lines.length - 1];
  if (last && last.eol === "") {
    // The file lacked a final newline: end its last line first (its bytes stay as they are).
    lines[lines.length - 1] = parseLine(last.raw.endsWith("\r") ? last.raw : last.raw + cr, "\n");
  }
  if (comment !== undefined) {
    for (const text of comment.split("\n")) {
      lines.push({ kind: "comment", raw: (text === "" ? "#" : `# ${text}`) + cr, eol: "\n" });
    }
  }
  lines.push(parseLine(`${name} = ${wanted}${cr}`, "\n"));
  return { ...conf, lines };
}

/** Replace the value tokens of a setting line, keeping everything around them. */
function rewriteValue(raw: string, value: string): string {
  const hash = raw.indexOf("#");
  const content = hash === -1 ? raw : raw.slice(0, hash);
  const tail = hash === -1 ? "" : raw.slice(hash);
  const tokens = tokenize(content);
  const eq = tokens[1]!;
  const eqEnd = eq.start + 1;
  const valueTokens = tokens.slice(2);
  const start = valueTokens[0]?.start ?? eqEnd;
  const lastToken = valueTokens[valueTokens.length - 1];
  const end = lastToken ? lastToken.start + lastToken.text.length : eqEnd;
  let before = content.slice(0, start);
  let after = content.slice(end);
  if (value !== "" && start === eqEnd) before += " ";
  if (value !== "" && tail !== "" && after === "") after = " ";
  if (value === "" && start !== eqEnd) {
    // Drop the separator too, so `a = x` becomes `a =` rather than `a = `.
    before = content.slice(0, eqEnd);
  }
  return before + value + after + tail;
}

function usesCrlf(conf: NixConf): boolean {
  const ended = conf.lines.find((l) => l.eol === "\n");
  return ended?.raw.endsWith("\r") ?? false;
}

/** Removes every `name = …` line (not `extra-name` lines); each removed line goes with its newline. */
export function removeSetting(conf: NixConf, name: string): NixConf {
  const lines = conf.lines.filter((l) => !(l.kind === "setting" && l.name === name));
  return lines.length === conf.lines.length ? conf : { ...conf, lines };
}
