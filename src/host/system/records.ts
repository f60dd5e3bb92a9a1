// Append-only JSON-lines files in the user's state directory: build history and bench results.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import path from "node:path";
import type { Host } from "./host.js";

/**
 * Where per-user records live: `$XDG_STATE_HOME/crossnix`, else `~/.local/state/crossnix`, under
 * `CROSSNIX_ROOT` when set. Per user because builds are: a record names what this user built.
 */
export function userStateDir(host: Pick<Host, "env" | "homeDir" | "path">): string {
  const xdg = host.env["XDG_STATE_HOME"];
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(host.homeDir, ".local", "state");
  return host.path(path.join(base, "crossnix"));
}

/**
 * Appends records (one line each) as one `write(2)` on an `O_APPEND` descriptor, so records from
 * concurrent crossnix processes never interleave, then fsyncs once. A crash mid-write leaves at
 * most one torn last line, which {@link readRecords} skips.
 */
export function appendRecords(file: string, records: unknown[]): void {
  if (records.length === 0) return;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, "a", 0o600);
  try {
    writeSync(fd, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function appendRecord(file: string, record: unknown): void {
  appendRecords(file, [record]);
}

/** Every whole record in the file, oldest first ([] when it does not exist); torn or foreign lines are skipped. */
export function readRecords<T>(file: string, accept: (value: unknown) => value is T): T[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const records: T[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      const value: unknown = JSON.parse(line);
      if (accept(value)) records.push(value);
    } catch {
      // A line torn by a crash mid-append: the records before and after it still count.
    }
  }
  return records;
}
