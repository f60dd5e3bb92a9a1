// Reads the valid lines of an invalid machines file, reporting the others.
import type { CrossnixError } from "../../../errors.js";
import { type MachinesDialect, NEWEST_DIALECT } from "./dialect.js";
import { isParseError } from "./entry.js";
import { type MachinesFile, parseMachinesFile } from "./file.js";

export interface TolerantMachines {
  path: string;
  /** The file without its invalid lines (they read as blank lines; line numbers are kept). */
  model: MachinesFile;
  /** Every line Nix would reject, in order ("bad machine specification: …"). */
  errors: CrossnixError[];
  /** False when lines were dropped: such a model must not be rendered back over the file. */
  lossless: boolean;
}

/**
 * Reports an invalid machines file and still reads the builders on its valid lines: parses line
 * by line where `parseMachinesFile` stops at the first error, by the rules of `dialect`.
 */
export function parseMachinesTolerant(
  text: string,
  fileName: string,
  dialect: MachinesDialect = NEWEST_DIALECT,
): TolerantMachines {
  const lines = text.split("\n");
  const errors: CrossnixError[] = [];
  for (let attempt = 0; attempt <= lines.length; attempt++) {
    try {
      const model = parseMachinesFile(lines.join("\n"), fileName, dialect);
      return { path: fileName, model, errors, lossless: errors.length === 0 };
    } catch (error) {
      if (!isParseError(error)) throw error;
      errors.push(error);
      const line = Number(error.detail?.["line"]);
      if (!Number.isInteger(line) || line < 1 || line > lines.length || lines[line - 1] === "") break;
      lines[line - 1] = "";
    }
  }
  return { path: fileName, model: { fileName, lines: [] }, errors, lossless: false };
}
