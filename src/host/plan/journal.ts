// The plan runner's journal: written (atomically) after the backups and before the first change,
// removed when the plan is done. Finding one means a run died mid-apply; the next run, holding the
// lock, rolls that plan back from its backups and removes its temp files. Finished plans are kept as
// history records (what ran, when, which files, where their backups are).
import { createHash } from "node:crypto";
import { readdir, readFile, unlink } from "node:fs/promises";
import path from "node:path";
import type { PlanCommand } from "../../core/plan/plan.js";
import { removeFileDurably, writeFileAtomic } from "../system/files.js";
import type { Host } from "../system/host.js";
import { SYSTEM_PATHS } from "../system/paths.js";

export interface JournalFile {
  /** System path as the user sees it. */
  path: string;
  /** Where it really is (under CROSSNIX_ROOT). */
  real: string;
  /** Backup of the old file, or null when there was none. */
  backup: string | null;
  beforeSha: string | null;
  afterSha: string | null;
  /** The temp file the new contents are written to before the rename. */
  tmp: string;
  /** The new contents (lossless text), kept so `undo` can show what changed since; absent for secrets. */
  after?: string | null;
  /** Made by one of the plan's commands (e.g. ssh-keygen), not written by the runner. */
  createdByCommand?: boolean;
}

export interface Journal {
  id: string;
  pid: number;
  title: string;
  command: string[];
  startedAt: string;
  backupDir: string;
  files: JournalFile[];
  /** The plan's commands, so undoing it restarts what it restarted. */
  commands?: PlanCommand[];
}

export type Outcome = "applied" | "rolled back" | "failed";

export interface HistoryRecord extends Journal {
  outcome: Outcome;
  finishedAt: string;
  detail?: string;
}

export function sha256(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : createHash("sha256").update(bytes).digest("hex");
}

export async function readBytesOrNull(realPath: string): Promise<Buffer | null> {
  try {
    return await readFile(realPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw error;
  }
}

export async function writeJournal(host: Host, journal: Journal): Promise<void> {
  await writeFileAtomic(host.path(SYSTEM_PATHS.journal), `${JSON.stringify(journal, null, 1)}\n`, 0o600);
}

export async function removeJournal(host: Host): Promise<void> {
  await removeFileDurably(host.path(SYSTEM_PATHS.journal));
}

export async function recordHistory(host: Host, journal: Journal, outcome: Outcome, detail?: string): Promise<void> {
  const record: HistoryRecord = {
    ...journal,
    outcome,
    finishedAt: host.now().toISOString(),
    ...(detail ? { detail } : {}),
  };
  const file = host.path(path.join(SYSTEM_PATHS.historyDir, `${journal.id}.json`));
  await writeFileAtomic(file, `${JSON.stringify(record, null, 1)}\n`, 0o600);
}

export async function readHistory(host: Pick<Host, "path">): Promise<HistoryRecord[]> {
  const dir = host.path(SYSTEM_PATHS.historyDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  const records: HistoryRecord[] = [];
  for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
    try {
      records.push(JSON.parse(await readFile(path.join(dir, name), "utf8")) as HistoryRecord);
    } catch {
      // A record cut short by a crash is not history.
    }
  }
  return records;
}

/**
 * Puts every file of the journal back as it was before the plan: a file that holds the plan's new
 * contents is restored from its backup (or removed if it did not exist); a file someone else has
 * changed since is left alone and reported. Temp files are removed.
 */
export async function rollBack(journal: Journal): Promise<{ restored: string[]; leftAlone: string[] }> {
  const restored: string[] = [];
  const leftAlone: string[] = [];
  for (const file of journal.files) {
    await unlink(file.tmp).catch(() => {});
    const current = sha256(await readBytesOrNull(file.real));
    if (current === file.beforeSha) continue;
    if (current !== file.afterSha || (file.backup === null && file.beforeSha !== null)) {
      leftAlone.push(file.path);
      continue;
    }
    if (file.backup === null) await removeFileDurably(file.real);
    else await writeFileAtomic(file.real, await readFile(file.backup));
    restored.push(file.path);
  }
  return { restored, leftAlone };
}

/** With the lock held: a journal left by a dead run is rolled back; returns one line saying so, or null. */
export async function recoverInterrupted(host: Host): Promise<string | null> {
  const text = await readFile(host.path(SYSTEM_PATHS.journal), "utf8").catch(() => null);
  if (text === null) return null;
  let journal: Journal;
  try {
    journal = JSON.parse(text) as Journal;
  } catch {
    // Written atomically, so a half journal cannot exist; a corrupt one names nothing we could undo.
    await removeJournal(host);
    return `removed an unreadable journal ${SYSTEM_PATHS.journal}`;
  }
  const { restored, leftAlone } = await rollBack(journal);
  await recordHistory(host, journal, "rolled back", "interrupted; rolled back by the next run");
  await removeJournal(host);
  const parts = [`an interrupted crossnix run (pid ${journal.pid}: ${journal.title}) was rolled back`];
  parts.push(restored.length ? `restored ${restored.join(", ")}` : "no file had been changed yet");
  if (leftAlone.length) parts.push(`left alone, changed by someone else since: ${leftAlone.join(", ")}`);
  return parts.join("; ");
}
