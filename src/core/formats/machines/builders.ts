// Parses and rewrites the `builders` setting's value (items of `@file` or inline machines).
import { badInput } from "../../../errors.js";
import { type MachinesDialect, NEWEST_DIALECT } from "./dialect.js";
import { includePath, lineSegments, type MachineEntry, readLineItems } from "./entry.js";

/**
 * The `builders` setting: items separated by ';' or newlines, each `@file` or an inline machine
 * spec. Nix runs the same expansion on it as on a machines file (docs/nix-machines-file.md#builders-setting),
 * so a '#' starts a comment here too.
 */
export type BuildersItem = { kind: "file"; path: string } | { kind: "inline"; entry: MachineEntry; raw: string };

/** Errors are located as `<source>:<line>:<column>`, counted inside the value. */
export function parseBuildersValue(
  value: string,
  source: string,
  dialect: MachinesDialect = NEWEST_DIALECT,
): BuildersItem[] {
  return value
    .split("\n")
    .flatMap((line, index) =>
      readLineItems(line, source, index + 1, 0, dialect).map(
        (item): BuildersItem =>
          item.kind === "include"
            ? { kind: "file", path: item.path }
            : { kind: "inline", entry: item.entry, raw: item.raw },
      ),
    );
}

/** Item texts in order as `dialect` cuts them (untrimmed before 2.29), without validating inline specs. */
function itemTexts(value: string, dialect: MachinesDialect): string[] {
  return value.split("\n").flatMap((line) => lineSegments(line, dialect).map((segment) => segment.text));
}

/** An item Nix follows as `@machinesPath`. */
function includes(text: string, path: string): boolean {
  return text.startsWith("@") && includePath(text) === path;
}

/** An item that names `@machinesPath` only once trimmed: before 2.29 Nix reads it as a machine. */
function strayInclude(text: string, path: string): boolean {
  const trimmed = text.replace(/^[ \t\r\n]+/, "");
  return trimmed !== text && includes(trimmed, path);
}

/**
 * A `builders` value that reads `@machinesPath` exactly once and keeps every other item in
 * order. `builders` is not appendable (no `extra-builders`, docs/nix-settings.md#builders), so the whole value is
 * rewritten. Unchanged if the file is already included once; appended with ` ;@` if absent.
 * The '@' always follows the ';' directly: before 2.29 Nix does not trim an item before looking
 * for '@', so `a ; @file` is a machine named `@file` there (docs/nix-machines-file.md#includes).
 * With duplicates, or with such a stray copy under `dialect`, the value is rebuilt from its
 * trimmed items (`a ;@file ;b`) and later copies dropped.
 */
export function ensureBuildersIncludes(
  value: string | null,
  machinesPath: string,
  dialect: MachinesDialect = NEWEST_DIALECT,
): string {
  if (!machinesPath.startsWith("/") || /[;#\n\r]/.test(machinesPath) || machinesPath.trim() !== machinesPath) {
    throw badInput(
      "machines file path",
      machinesPath,
      "it must be absolute and free of ';', '#', newlines and surrounding spaces",
    );
  }
  const include = `@${machinesPath}`;
  if (value === null) return include;
  const texts = itemTexts(value, dialect);
  const copies = texts.filter((text) => includes(text, machinesPath)).length;
  const strays = texts.filter((text) => strayInclude(text, machinesPath)).length;
  if (copies === 1 && strays === 0) return value;
  if (copies + strays >= 1) return dedupeIncludes(texts, machinesPath).join(" ;");
  const base = value.replace(/[ \t\r\n;]+$/, "");
  if (base === "") return include;
  // After a comment, a ';' would be commented out too (2.29+): start a new line instead.
  const lastLine = base.slice(base.lastIndexOf("\n") + 1);
  return `${base}${lastLine.includes("#") ? "\n" : " ;"}${include}`;
}

function dedupeIncludes(texts: string[], machinesPath: string): string[] {
  let seen = false;
  return texts
    .map((text) => text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, ""))
    .filter((text) => {
      if (text === "") return false;
      if (!includes(text, machinesPath)) return true;
      if (seen) return false;
      seen = true;
      return true;
    });
}
