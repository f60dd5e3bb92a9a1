// Decodes one stderr line of `nix … --log-format internal-json` into a typed event (docs/internal-json.md).
import { stripAnsi } from "../diagnosis/nix/lines.js";

/** Activity types (libutil/logging.hh); the numbers are the same from Nix 2.4 to today. */
export const Act = {
  unknown: 0,
  copyPath: 100,
  fileTransfer: 101,
  realise: 102,
  copyPaths: 103,
  builds: 104,
  build: 105,
  optimiseStore: 106,
  verifyPaths: 107,
  substitute: 108,
  queryPathInfo: 109,
  postBuildHook: 110,
  buildWaiting: 111,
} as const;

/** Result types (libutil/logging.hh). */
export const Res = {
  fileLinked: 100,
  buildLogLine: 101,
  untrustedPath: 102,
  corruptedPath: 103,
  setPhase: 104,
  progress: 105,
  setExpected: 106,
  postBuildLogLine: 107,
} as const;

export type NixEvent =
  /** `parent` exists only from Nix 2.18 on; nothing here depends on it. */
  | { action: "start"; id: number; type: number; level: number; text: string; fields: unknown[]; parent?: number }
  | { action: "stop"; id: number }
  | { action: "result"; id: number; type: number; fields: unknown[] }
  | { action: "msg"; level: number; text: string }
  /** A stderr line that is not `@nix {…}` (Nix's own plain text, or a program's). */
  | { action: "text"; text: string };

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/**
 * One line of stderr; null for a blank line or a `@nix` line that is not a valid event. Activity ids
 * are 64-bit in 2.8 (pid << 32 | n) and stay below 2^53, so JSON numbers carry them exactly.
 */
export function parseNixLine(line: string): NixEvent | null {
  if (!line.startsWith("@nix ")) {
    const text = stripAnsi(line);
    return text.trim() === "" ? null : { action: "text", text };
  }
  let raw: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line.slice(5));
    if (!parsed || typeof parsed !== "object") return null;
    raw = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  const id = num(raw["id"]);
  const type = num(raw["type"]);
  const fields = Array.isArray(raw["fields"]) ? (raw["fields"] as unknown[]) : [];
  switch (raw["action"]) {
    case "start": {
      if (id === null || type === null) return null;
      const parent = num(raw["parent"]);
      return {
        action: "start",
        id,
        type,
        level: num(raw["level"]) ?? 0,
        text: stripAnsi(typeof raw["text"] === "string" ? raw["text"] : ""),
        fields,
        ...(parent !== null && parent !== 0 ? { parent } : {}),
      };
    }
    case "stop":
      return id === null ? null : { action: "stop", id };
    case "result":
      return id === null || type === null ? null : { action: "result", id, type, fields };
    case "msg": {
      const text = stripAnsi(typeof raw["msg"] === "string" ? raw["msg"] : "");
      return text.trim() === "" ? null : { action: "msg", level: num(raw["level"]) ?? 0, text };
    }
    default:
      return null;
  }
}

/** `foo` from `/nix/store/<hash>-foo.drv` (or from an output path). */
export function storeName(p: string): string {
  return p.replace(/^.*\/[a-z0-9]{32}-/, "").replace(/\.drv$/, "");
}
