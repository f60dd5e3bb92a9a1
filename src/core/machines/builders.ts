import { badInput } from "../../errors.js";
import { includePath, lineSegments, type MachineEntry, readLineItems } from "./entry.js";

/**
 * The `builders` setting: items separated by ';' or newlines, each `@file` or an inline machine
 * spec. Nix runs the same expansion on it as on a machines file (reference §1 and §2), so a '#'
 * starts a comment here too.
 */
export type BuildersItem = { kind: "file"; path: string } | { kind: "inline"; entry: MachineEntry; raw: string };

/** Errors are located as `<source>:<line>:<column>`, counted inside the value. */
export function parseBuildersValue(value: string, source: string): BuildersItem[] {
  return value.split("\n").flatMap((line, index) =>
    readLineItems(line, source, index + 1).map(
      (item): BuildersItem =>
        item.kind === "include" ? { kind: "file", path: item.path } : { kind: "inline", entry: item.entry, raw: item.raw },
    ),
  );
}

/** Item texts in order, without validating inline specs. */
function itemTexts(value: string): string[] {
  return value.split("\n").flatMap((line) => lineSegments(line).map((segment) => segment.text));
}

function includes(text: string, path: string): boolean {
  return text.startsWith("@") && includePath(text) === path;
}

/**
 * A `builders` value that reads `@machinesPath` exactly once and keeps every other item in
 * order. `builders` is not appendable (no `extra-builders`, reference §2), so the whole value is
 * rewritten. Unchanged if the file is already included once; appended with ` ; ` if absent.
 * With duplicates, the value is rebuilt from its items (`a ; b`) and later copies dropped.
 */
export function ensureBuildersIncludes(value: string | null, machinesPath: string): string {
  if (!machinesPath.startsWith("/") || /[;#\n\r]/.test(machinesPath) || machinesPath.trim() !== machinesPath) {
    throw badInput(
      "machines file path",
      machinesPath,
      "it must be absolute and free of ';', '#', newlines and surrounding spaces",
    );
  }
  const include = `@${machinesPath}`;
  if (value === null) return include;
  const texts = itemTexts(value);
  const copies = texts.filter((text) => includes(text, machinesPath)).length;
  if (copies === 1) return value;
  if (copies > 1) return dedupeIncludes(texts, machinesPath).join(" ; ");
  const base = value.replace(/[ \t\r\n;]+$/, "");
  if (base === "") return include;
  // After a comment, a ';' would be commented out too: start a new line instead.
  const lastLine = base.slice(base.lastIndexOf("\n") + 1);
  return `${base}${lastLine.includes("#") ? "\n" : " ; "}${include}`;
}

function dedupeIncludes(texts: string[], machinesPath: string): string[] {
  let seen = false;
  return texts.filter((text) => {
    if (!includes(text, machinesPath)) return true;
    if (seen) return false;
    seen = true;
    return true;
  });
}
