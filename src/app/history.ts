// `crossnix history` and `crossnix undo`: the plans crossnix applied (from the plan runner's records)
// and a plan that puts one back from its backups, refused when a file changed since.
import { readFile, stat } from "node:fs/promises";
import { decodeLossless } from "../core/formats/bytes.js";
import { emptyPlan, type FileChange, type Plan, unifiedDiff } from "../core/plan/plan.js";
import { CrossnixError } from "../errors.js";
import { type HistoryRecord, readBytesOrNull, readHistory, sha256 } from "../host/plan/journal.js";
import type { Host } from "../host/system/host.js";

export interface HistoryEntry {
  id: string;
  time: string;
  title: string;
  command: string;
  outcome: HistoryRecord["outcome"];
  files: { path: string; backup: string | null }[];
  detail?: string;
}

export async function listHistory(host: Pick<Host, "path">): Promise<HistoryEntry[]> {
  return (await readHistory(host)).map((r) => ({
    id: r.id,
    time: r.finishedAt,
    title: r.title,
    command: r.command.join(" "),
    outcome: r.outcome,
    files: r.files.map((f) => ({ path: f.path, backup: f.backup })),
    ...(r.detail ? { detail: r.detail } : {}),
  }));
}

/**
 * The plan that undoes an applied plan (the last one, or `id`): every file it wrote goes back to its
 * backup, every file it created (also by a command, such as a key) is removed, and whatever it
 * restarted is restarted again. Refused, with the diff, when a file no longer holds what the plan wrote.
 */
export async function planUndo(host: Host, id?: string): Promise<{ record: HistoryRecord; plan: Plan }> {
  const records = (await readHistory(host)).filter((r) => r.outcome === "applied");
  const record = id ? records.find((r) => r.id === id) : records.at(-1);
  if (!record) {
    const known = (await readHistory(host)).find((r) => r.id === id);
    throw new CrossnixError(
      "NOT_FOUND",
      id
        ? known
          ? `plan ${id} was ${known.outcome}, so there is nothing to undo`
          : `no applied plan ${id}`
        : "no applied plan to undo",
      { hint: "crossnix history lists them", exitCode: 2 },
    );
  }
  const plan = emptyPlan(`Undo '${record.title}' (${record.id})`);
  const changedSince: string[] = [];
  for (const file of record.files) {
    const current = await readBytesOrNull(file.real);
    const currentText = current === null ? null : decodeLossless(current);
    if (sha256(current) !== file.afterSha) {
      const wrote = file.after !== undefined ? file.after : null;
      changedSince.push(
        file.after === undefined
          ? `${file.path} changed since (its contents are secret)`
          : unifiedDiff({ path: file.path, before: wrote, after: currentText, reason: "" }),
      );
      continue;
    }
    const change: FileChange = {
      path: file.path,
      before: currentText,
      after: file.backup === null ? null : decodeLossless(await readFile(file.backup)),
      reason: file.backup === null ? `made by '${record.title}'` : `back to before '${record.title}'`,
      ...(file.path.endsWith("_ed25519") ? { secret: true } : {}),
    };
    // The backup keeps the old file's mode: a deleted file comes back as it was.
    if (file.backup) change.mode = (await stat(file.backup)).mode & 0o7777;
    plan.files.push(change);
  }
  if (changedSince.length > 0) {
    throw new CrossnixError("CONFLICT", `cannot undo ${record.id}: files changed since it was applied`, {
      hint: "undo only puts back files that still hold what crossnix wrote; edit them by hand",
      nothingWritten: true,
      detail: { changedSince },
    });
  }
  for (const command of record.commands ?? []) {
    if (!command.creates && !command.withinRoot) plan.commands.push(command);
  }
  return { record, plan };
}
