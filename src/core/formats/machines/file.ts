// A machines file as a lossless model: parse, render, and edit crossnix's own tagged lines.
import { badInput, CrossnixError } from "../../../errors.js";
import { type MachinesDialect, NEWEST_DIALECT } from "./dialect.js";
import { formatEntry, isParseError, type LineItem, type MachineEntry, readLineItems } from "./entry.js";

/**
 * A lossless model of a machines file: every line keeps its exact bytes (`raw` + `eol`), and
 * what Nix reads from it is derived alongside. Rendering joins the raw bytes back, so
 * parse → render is the identity, and edits rewrite only the lines they touch.
 *
 * crossnix finds its own lines by a trailing comment `# crossnix:<name>`: Nix drops everything
 * after the first '#' (docs/nix-machines-file.md#splitting), so the tag is invisible to it. Lines without the tag are
 * never edited. A disabled line is the original line behind `# crossnix-disabled: `.
 */
export interface MachinesFile {
  fileName: string;
  lines: MachinesLine[];
  /** The Nix version rules the lines were read with (docs/nix-machines-file.md#versions); newest when absent. */
  dialect?: MachinesDialect;
}

export interface MachinesLine {
  /** The line's bytes without its '\n' (a CRLF line keeps its '\r' here). */
  raw: string;
  /** "\n", or "" for a last line that has no newline. */
  eol: string;
  /** What Nix reads from this line, in order. */
  items: LineItem[];
  /** The crossnix name, on a line holding at least one entry and ending with the tag. */
  tag: string | null;
  /** Set when the line is a crossnix entry line commented out by setEntryEnabled. */
  disabled: DisabledLine | null;
}

export interface DisabledLine {
  /** The line as it was before it was disabled. */
  original: string;
  tag: string;
  /** Its items, with columns counted on the disabled (physical) line. */
  items: LineItem[];
}

export interface LocatedEntry {
  entry: MachineEntry;
  /** 1-based line and column of the entry's first character. */
  line: number;
  column: number;
  /** The entry's text, trimmed. */
  raw: string;
  /** The crossnix tag of its line, or null for a line crossnix did not write. */
  name: string | null;
  disabled: boolean;
}

const DISABLED_PREFIX = "# crossnix-disabled: ";
const TAG = /^[ \t]*crossnix:([A-Za-z0-9][A-Za-z0-9._-]*)[ \t\r]*$/;
/** Builder names double as ssh aliases and file names; keep them to this shape. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function tagOf(line: string): string | null {
  const hash = line.indexOf("#");
  if (hash === -1) return null;
  return TAG.exec(line.slice(hash + 1))?.[1] ?? null;
}

function parseLine(
  raw: string,
  eol: string,
  fileName: string,
  lineNumber: number,
  dialect: MachinesDialect = NEWEST_DIALECT,
): MachinesLine {
  const items = readLineItems(raw, fileName, lineNumber, 0, dialect);
  const tag = items.some((item) => item.kind === "entry") ? tagOf(raw) : null;
  const disabled = items.length === 0 ? readDisabled(raw, fileName, lineNumber, dialect) : null;
  return { raw, eol, items, tag, disabled };
}

/** A comment line that holds a valid crossnix entry line behind the marker; anything else is a comment. */
function readDisabled(
  raw: string,
  fileName: string,
  lineNumber: number,
  dialect: MachinesDialect,
): DisabledLine | null {
  if (!raw.startsWith(DISABLED_PREFIX)) return null;
  const original = raw.slice(DISABLED_PREFIX.length);
  let items: LineItem[];
  try {
    items = readLineItems(original, fileName, lineNumber, DISABLED_PREFIX.length, dialect);
  } catch (error) {
    if (isParseError(error)) return null;
    throw error;
  }
  const tag = items.some((item) => item.kind === "entry") ? tagOf(original) : null;
  return tag === null ? null : { original, tag, items };
}

/**
 * Throws a PARSE error (file:line:column) at the first entry the Nix of `dialect` (default: the
 * newest) would reject. The model keeps that dialect, so edits re-read lines by the same rules.
 */
export function parseMachinesFile(
  text: string,
  fileName: string,
  dialect: MachinesDialect = NEWEST_DIALECT,
): MachinesFile {
  const lines: MachinesLine[] = [];
  let pos = 0;
  while (pos < text.length) {
    const newline = text.indexOf("\n", pos);
    const end = newline === -1 ? text.length : newline;
    lines.push(parseLine(text.slice(pos, end), newline === -1 ? "" : "\n", fileName, lines.length + 1, dialect));
    pos = end + 1;
  }
  return dialect === NEWEST_DIALECT ? { fileName, lines } : { fileName, lines, dialect };
}

export function renderMachinesFile(file: MachinesFile): string {
  return file.lines.map((line) => line.raw + line.eol).join("");
}

/** Every entry in file order, `;`-joined ones included; disabled crossnix entries too. */
export function listEntries(file: MachinesFile): LocatedEntry[] {
  return file.lines.flatMap((line, index) => {
    const items = line.disabled?.items ?? line.items;
    const name = line.disabled?.tag ?? line.tag;
    const disabled = line.disabled !== null;
    return items.flatMap((item) =>
      item.kind === "entry"
        ? [{ entry: item.entry, line: index + 1, column: item.column, raw: item.raw, name, disabled }]
        : [],
    );
  });
}

/** The `@file` includes Nix follows (a missing file is skipped silently, docs/nix-machines-file.md#includes). */
export function listIncludes(file: MachinesFile): { path: string; line: number }[] {
  return file.lines.flatMap((line, index) =>
    line.items.flatMap((item) => (item.kind === "include" ? [{ path: item.path, line: index + 1 }] : [])),
  );
}

function carries(line: MachinesLine, name: string): boolean {
  return line.tag === name || line.disabled?.tag === name;
}

function usesCrlf(file: MachinesFile): boolean {
  return file.lines.find((line) => line.eol === "\n")?.raw.endsWith("\r") ?? false;
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw badInput(
      "builder name",
      name,
      "use letters, digits, '.', '_' and '-' (up to 63), starting with a letter or digit",
    );
  }
}

function notFound(file: MachinesFile, name: string): CrossnixError {
  const names = [...new Set(listEntries(file).flatMap((located) => (located.name === null ? [] : [located.name])))];
  return new CrossnixError("NOT_FOUND", `no builder named '${name}' in ${file.fileName}`, {
    hint:
      names.length > 0
        ? `builders crossnix manages there: ${names.join(", ")}`
        : "crossnix has not added a builder to this file",
    detail: { file: file.fileName, name },
  });
}

/**
 * Writes `<entry> # crossnix:<name>`. If a line already carries that name (enabled or disabled),
 * the first such line is replaced in place by the new, enabled entry and any further lines with
 * that name are dropped; otherwise the line is appended. Every other byte stays as it was.
 */
export function addEntry(file: MachinesFile, entry: MachineEntry, name: string): MachinesFile {
  checkName(name);
  const text = `${formatEntry(entry)} # crossnix:${name}`;
  const cr = usesCrlf(file) ? "\r" : "";
  const lines = file.lines.slice();
  const existing = lines.findIndex((line) => carries(line, name));
  if (existing !== -1) {
    const old = lines[existing]!;
    lines[existing] = parseLine(
      text + (old.raw.endsWith("\r") ? "\r" : ""),
      old.eol,
      file.fileName,
      existing + 1,
      file.dialect,
    );
    return { ...file, lines: lines.filter((line, index) => index <= existing || !carries(line, name)) };
  }
  const last = lines[lines.length - 1];
  if (last !== undefined && last.eol === "") {
    // The file lacked a final newline: end its last line first (its bytes stay as they are).
    const raw = last.raw.endsWith("\r") ? last.raw : last.raw + cr;
    lines[lines.length - 1] = parseLine(raw, "\n", file.fileName, lines.length, file.dialect);
  }
  lines.push(parseLine(text + cr, "\n", file.fileName, lines.length + 1, file.dialect));
  return { ...file, lines };
}

/** Removes every line tagged with `name` (enabled or disabled), each with its newline. */
export function removeEntry(file: MachinesFile, name: string): MachinesFile {
  const lines = file.lines.filter((line) => !carries(line, name));
  if (lines.length === file.lines.length) throw notFound(file, name);
  return { ...file, lines };
}

/**
 * Disabling comments the line out behind `# crossnix-disabled: `; enabling gives back the exact
 * original line. Both are idempotent. Untagged lines are never touched.
 */
export function setEntryEnabled(file: MachinesFile, name: string, enabled: boolean): MachinesFile {
  if (!file.lines.some((line) => carries(line, name))) throw notFound(file, name);
  let changed = false;
  const lines = file.lines.map((line, index) => {
    if (enabled && line.disabled?.tag === name) {
      changed = true;
      return parseLine(line.disabled.original, line.eol, file.fileName, index + 1, file.dialect);
    }
    if (!enabled && line.tag === name) {
      changed = true;
      return parseLine(DISABLED_PREFIX + line.raw, line.eol, file.fileName, index + 1, file.dialect);
    }
    return line;
  });
  return changed ? { ...file, lines } : file;
}
