// /etc/determinate/config.json: read the native builder's keys and change only them, every other byte
// kept (jsonc-parser computes the smallest edit). docs/determinate-native.md#config-json.
import { applyEdits, type FormattingOptions, modify, type ParseError, parse, printParseErrorCode } from "jsonc-parser";

export type BuilderState = "enabled" | "disabled";

/** The keys crossnix owns in config.json: `builder.state`, `builder.memoryBytes`, `builder.cpuCount`. */
export interface NativeBuilderConfig {
  state: BuilderState | null;
  memoryBytes: number | null;
  cpuCount: number | null;
}

export interface ParsedNativeConfig {
  builder: NativeBuilderConfig;
  /** Syntax errors ("InvalidSymbol at offset 4"); a file with any is never edited. */
  errors: string[];
}

export function parseNativeConfig(text: string | null): ParsedNativeConfig {
  const empty: NativeBuilderConfig = { state: null, memoryBytes: null, cpuCount: null };
  if (text === null || text.trim() === "") return { builder: empty, errors: [] };
  const problems: ParseError[] = [];
  const value = parse(text, problems, { allowTrailingComma: false, disallowComments: false });
  const errors = problems.map((p) => `${printParseErrorCode(p.error)} at offset ${p.offset}`);
  const builder = typeof value === "object" && value !== null ? (value as Record<string, unknown>)["builder"] : null;
  if (typeof builder !== "object" || builder === null) return { builder: empty, errors };
  const b = builder as Record<string, unknown>;
  const state = b["state"] === "enabled" || b["state"] === "disabled" ? b["state"] : null;
  const number = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  return { builder: { state, memoryBytes: number(b["memoryBytes"]), cpuCount: number(b["cpuCount"]) }, errors };
}

/**
 * The file with the given builder keys set (undefined leaves a key alone). A multi-line file gets
 * the new keys indented like its own lines; a one-line file gets them inline. Nothing else moves.
 */
export function editNativeConfig(text: string | null, change: Partial<NativeBuilderConfig>): string {
  let out = text === null || text.trim() === "" ? "{}\n" : text;
  const multiline = /\n\s*"/.test(out);
  const formatting: FormattingOptions | undefined = multiline ? indentationOf(out) : undefined;
  for (const key of ["state", "memoryBytes", "cpuCount"] as const) {
    const value = change[key];
    if (value === undefined) continue;
    const edits = modify(out, ["builder", key], value, formatting ? { formattingOptions: formatting } : {});
    out = applyEdits(out, edits);
  }
  if (text === null || text.trim() === "") return `${JSON.stringify(JSON.parse(out), null, 2)}\n`;
  return out;
}

function indentationOf(text: string): FormattingOptions {
  const indent = /\n([ \t]+)"/.exec(text)?.[1] ?? "  ";
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  return indent.startsWith("\t")
    ? { insertSpaces: false, tabSize: 1, eol }
    : { insertSpaces: true, tabSize: indent.length, eol };
}

/** Determinate's module default memory for the builder VM: 8 GiB (docs/determinate-native.md#config-json). */
export const DEFAULT_MEMORY_BYTES = 8 * 1024 ** 3;
