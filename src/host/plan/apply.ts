// The plan runner's apply step: lock, journal, backups, atomic writes, roll back on failure.
// One file because each write, its journal record and its rollback must stay in step; lock, journal,
// hand-off and file primitives are already modules of their own.
import { quoteCommand } from "../../core/shell.js";
import { lstat, mkdtemp, readlink, realpath, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CrossnixError, type ErrorCode, planOutdated } from "../../errors.js";
import { effectiveChanges, type FileChange, type Plan } from "../../core/plan/plan.js";
import { describeFailure, succeeded } from "../system/exec.js";
import { encodeLossless } from "../../core/formats/bytes.js";
import { crashPoint } from "./crash-points.js";
import { backupFile, canWrite, removeFileDurably, tempPathFor, writeFileAtomic } from "../system/files.js";
import {
  type Journal,
  readBytesOrNull,
  recordHistory,
  recoverInterrupted,
  removeJournal,
  rollBack,
  sha256,
  writeJournal,
} from "./journal.js";
import { acquireLock } from "./lock.js";
import { planDigest } from "./handoff.js";
import type { Host } from "../system/host.js";
import { readTextOrNull } from "../system/host.js";
import { SYSTEM_PATHS } from "../system/paths.js";

export interface ApplyResult {
  written: string[];
  deleted: string[];
  backups: string[];
  /** `skipped`: not run because CROSSNIX_ROOT confines crossnix to its files (e.g. no daemon restart). */
  commands: { command: string; ok: boolean; skipped?: boolean; detail?: string }[];
  /** The history record's id (for `crossnix undo`), when system files changed. */
  id?: string;
  /** The plan made again because another run changed the files while this one waited. */
  replanned?: Plan;
}

export interface ApplyOptions {
  /** One line for the user (waiting for the lock, an interrupted run rolled back). */
  notice?: (line: string) => void;
  /** The command line, recorded in the journal and history. */
  command?: string[];
  lockWaitMs?: number;
  /**
   * Makes the plan again from the files as they are now. Given, a run that finds the files changed
   * (another crossnix applied first while this one waited for the lock) re-plans under the lock
   * instead of failing: runs are serialised, not rejected.
   */
  replan?: () => Promise<Plan>;
  /** Asked with a re-made plan that differs from the one confirmed; false cancels. */
  confirmReplanned?: (plan: Plan) => Promise<boolean>;
}

/**
 * Applies a plan wholly or not at all, under the machine-wide crossnix lock:
 * 1. take the lock (waiting for a live holder); roll back a plan a dead run left half-applied;
 * 2. check every file against the `before` the plan was computed from;
 * 3. back up every file, then journal the plan (before the first change);
 * 4. replace each file atomically; on any failure put back the ones already replaced;
 * 5. run the commands; 6. record the plan in history and drop the journal.
 */
export async function applyPlan(host: Host, planned: Plan, options: ApplyOptions = {}): Promise<ApplyResult> {
  const notice = options.notice ?? ((line: string) => process.stderr.write(`crossnix: ${line}\n`));
  if (!needsSystemLock(planned)) return applyRepoFiles(host, effectiveChanges(planned));
  const lock = await acquireLock(host.path(SYSTEM_PATHS.lockFile), {
    notice,
    purpose: planned.title,
    ...(options.lockWaitMs !== undefined ? { waitMs: options.lockWaitMs } : {}),
  });
  try {
    crashPoint("locked");
    const recovered = await recoverInterrupted(host);
    if (recovered) notice(recovered);
    const plan = await planStillValid(host, planned, options);
    const changes = effectiveChanges(plan);

    const started = host.now();
    const id = `${started.toISOString().replace(/[:.]/g, "-")}-${process.pid}`;
    const backupRoot = host.path(path.join(SYSTEM_PATHS.backupsDir, id));
    const journal: Journal = {
      id,
      pid: process.pid,
      title: plan.title,
      command: options.command ?? [],
      startedAt: started.toISOString(),
      backupDir: backupRoot,
      files: [],
      commands: plan.commands,
    };
    const result: ApplyResult = {
      written: [],
      deleted: [],
      backups: [],
      commands: [],
      id,
      ...(plan !== planned ? { replanned: plan } : {}),
    };
    for (const [index, change] of changes.entries()) {
      const real = await ioStep(change.path, () => writeTarget(realPathOf(host, change)));
      const backup = change.repoFile
        ? null
        : await ioStep(change.path, () => backupFile(real, change.path, backupRoot));
      crashPoint(`backup:${index}`);
      if (backup) result.backups.push(backup);
      journal.files.push({
        path: change.path,
        real,
        backup,
        beforeSha: sha256(change.before === null ? null : encodeLossless(change.before)),
        afterSha: sha256(change.after === null ? null : encodeLossless(change.after)),
        tmp: tempPathFor(real, index),
        ...(change.secret ? {} : { after: change.after }),
      });
    }
    await ioStep(SYSTEM_PATHS.journal, () => writeJournal(host, journal));
    crashPoint("journal");

    for (const [index, change] of changes.entries()) {
      const entry = journal.files[index] as Journal["files"][number];
      try {
        if (change.after === null) {
          await removeFileDurably(entry.real);
          result.deleted.push(change.path);
        } else {
          await writeFileAtomic(entry.real, change.after, change.mode, entry.tmp, () => crashPoint(`temp:${index}`));
          result.written.push(change.path);
        }
      } catch (error) {
        throw await undoAfterFailure(host, journal, change.path, error);
      }
      crashPoint(`rename:${index}`);
    }

    crashPoint("commands");
    for (const command of plan.commands) {
      const shown = quoteCommand(command.argv);
      if (confinedToRoot(host) && !command.withinRoot) {
        result.commands.push({
          command: shown,
          ok: false,
          skipped: true,
          detail: `skipped: CROSSNIX_ROOT=${host.root} confines crossnix to files there`,
        });
        continue;
      }
      const run = await host.exec(command.argv, { timeoutMs: 120_000 });
      if (succeeded(run)) {
        result.commands.push({ command: shown, ok: true });
        if (command.creates?.length) await journalCreatedFiles(host, journal, command.creates);
      } else if (command.optional) {
        result.commands.push({ command: shown, ok: false, detail: describeFailure(run) });
      } else {
        await recordHistory(host, journal, "applied", `${command.description} failed`).catch(() => {});
        await removeJournal(host);
        throw new CrossnixError("EXEC", `${command.description} failed: ${describeFailure(run)}`, {
          hint: `the files were written (backups in ${backupRoot}); run '${shown}' by hand once the cause is fixed, or 'crossnix undo' to put them back`,
        });
      }
    }
    await recordHistory(host, journal, "applied");
    await removeJournal(host);
    crashPoint("finished");
    return result;
  } finally {
    await lock.release();
  }
}

/** Files a command made (a builder's key) join the journal, so rolling back or undoing the plan removes them. */
async function journalCreatedFiles(host: Host, journal: Journal, realPaths: string[]): Promise<void> {
  for (const real of realPaths) {
    const bytes = await readBytesOrNull(real);
    if (bytes === null) continue;
    const shown = host.root === "/" ? real : `/${path.relative(host.root, real)}`;
    journal.files.push({
      path: shown,
      real,
      backup: null,
      beforeSha: null,
      afterSha: sha256(bytes),
      tmp: `${real}.none`,
      createdByCommand: true,
    });
  }
  await writeJournal(host, journal);
}

/**
 * Under CROSSNIX_ROOT every command would act on the real machine (restart its daemon, …), so none
 * runs; CROSSNIX_TEST_RUN_COMMANDS=1 lets the plan runner's own tests run harmless ones.
 */
function confinedToRoot(host: Host): boolean {
  return host.root !== "/" && host.env["CROSSNIX_TEST_RUN_COMMANDS"] !== "1";
}

/** The plan, or (with options.replan) the plan made again under the lock when its files changed meanwhile. */
async function planStillValid(host: Host, planned: Plan, options: ApplyOptions): Promise<Plan> {
  let plan = planned;
  for (let attempt = 0; ; attempt++) {
    const changed = await firstChangedFile(host, effectiveChanges(plan));
    if (changed === null) return plan;
    // Under the lock only a person editing by hand changes the files, so a few tries are plenty.
    if (!options.replan || attempt === 3) throw planOutdated(changed);
    plan = await options.replan();
    if (options.confirmReplanned && !(await options.confirmReplanned(plan))) {
      throw new CrossnixError("NOT_APPLIED", "cancelled; nothing was written");
    }
  }
}

async function firstChangedFile(host: Host, changes: FileChange[]): Promise<string | null> {
  for (const change of changes) {
    if ((await readTextOrNull(realPathOf(host, change))) !== change.before) return change.path;
  }
  return null;
}

/** Files in the user's own repository: no lock, no backups (version control keeps history). */
async function applyRepoFiles(host: Host, changes: FileChange[]): Promise<ApplyResult> {
  const changed = await firstChangedFile(host, changes);
  if (changed !== null) throw planOutdated(changed);
  const result: ApplyResult = { written: [], deleted: [], backups: [], commands: [] };
  for (const change of changes) {
    if (change.after === null) {
      await removeFileDurably(change.path);
      result.deleted.push(change.path);
    } else {
      await writeFileAtomic(change.path, change.after, change.mode);
      result.written.push(change.path);
    }
  }
  return result;
}

/** Runs one I/O step; an OS error becomes an IO error naming the file and the reason (nothing changed yet). */
async function ioStep<T>(file: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw ioError(file, error, "nothing was changed");
  }
}

/** A write failed mid-plan: put back what was already replaced, then describe the failure. */
async function undoAfterFailure(host: Host, journal: Journal, file: string, error: unknown): Promise<CrossnixError> {
  try {
    const { restored, leftAlone } = await rollBack(journal);
    await recordHistory(host, journal, "rolled back", `${file}: ${osReason(error)}`).catch(() => {});
    await removeJournal(host);
    const undone = restored.length
      ? `the files already written were put back (${restored.join(", ")})`
      : "nothing was changed";
    const extra = leftAlone.length ? `; changed by someone else meanwhile, left alone: ${leftAlone.join(", ")}` : "";
    return ioError(file, error, undone + extra);
  } catch (rollbackError) {
    return new CrossnixError(
      "IO",
      `cannot write ${file}: ${osReason(error)}; rolling back failed too: ${osReason(rollbackError)}`,
      {
        hint: `the journal ${SYSTEM_PATHS.journal} is kept; the next crossnix run rolls the plan back, and the backups are in ${journal.backupDir}`,
      },
    );
  }
}

function ioError(file: string, error: unknown, consequence: string): CrossnixError {
  if (error instanceof CrossnixError) return error;
  return new CrossnixError("IO", `cannot write ${file}: ${osReason(error)}; ${consequence}`, {
    hint: hintFor(error),
    cause: error,
  });
}

function osReason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOSPC: "no space left on the device",
    EROFS: "the file system is read-only",
    ENOTDIR: "a part of the path is a file, not a directory",
    EISDIR: "it is a directory",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EEXIST: "a file is already there",
    EDQUOT: "disk quota exceeded",
    ELOOP: "it is a symbolic link",
  };
  return (e.code && reasons[e.code] ? `${reasons[e.code]} (${e.code})` : e.message) ?? String(error);
}

function hintFor(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case "ENOSPC":
    case "EDQUOT":
      return "free some space and run the command again";
    case "EROFS":
      return "crossnix cannot change a read-only file system; on nix-darwin or NixOS set the option in your configuration instead";
    case "ENOTDIR":
      return "move the file that stands where a directory should be, then run the command again";
    default:
      return "fix the cause and run the command again";
  }
}

/** Where a planned file really is: repo files as given, system paths relocated under CROSSNIX_ROOT. */
export function realPathOf(host: Host, change: FileChange): string {
  return change.repoFile ? change.path : host.path(change.path);
}

/**
 * Where a change is written: the file itself, or, when it is a symlink, the file the link points
 * to (the link is never replaced by a copy). A link to nothing is refused.
 */
export async function writeTarget(real: string): Promise<string> {
  const info = await lstat(real).catch(() => null);
  if (!info?.isSymbolicLink()) return real;
  try {
    return await realpath(real);
  } catch {
    const error = new Error(
      `it is a symlink to ${await readlink(real)}, which does not exist`,
    ) as NodeJS.ErrnoException;
    throw error;
  }
}

/** The plan with each change made through a symlink saying so (shown before anyone is asked). */
export async function notingSymlinks(host: Host, plan: Plan): Promise<Plan> {
  const files = await Promise.all(
    plan.files.map(async (change) => {
      const real = realPathOf(host, change);
      const info = await lstat(real).catch(() => null);
      if (!info?.isSymbolicLink()) return change;
      const target = await readlink(real);
      return {
        ...change,
        reason: `${change.reason}; ${change.path} is a symlink to ${target}: written there, the link stays`,
      };
    }),
  );
  return { ...plan, files };
}

/** Plans that touch only the user's own repository files need no system lock (and so no root). */
function needsSystemLock(plan: Plan): boolean {
  return plan.commands.length > 0 || effectiveChanges(plan).some((c) => !c.repoFile);
}

/** Files in the plan the current user cannot write. */
export async function unwritableFiles(host: Host, plan: Plan): Promise<string[]> {
  const blocked: string[] = [];
  for (const change of effectiveChanges(plan)) {
    if (!(await canWrite(realPathOf(host, change)))) blocked.push(change.path);
  }
  if (
    needsSystemLock(plan) &&
    effectiveChanges(plan).length > 0 &&
    !(await canWrite(host.path(SYSTEM_PATHS.lockFile)))
  ) {
    blocked.push(SYSTEM_PATHS.lockFile);
  }
  return blocked;
}

/**
 * A normal user cannot write /etc/nix: hand the already-confirmed plan to `sudo crossnix
 * internal apply-plan <file>`, which applies exactly that plan (it re-checks every `before`).
 */
export async function applyPlanWithSudo(host: Host, plan: Plan, interactive: boolean): Promise<ApplyResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "crossnix-plan-"));
  const planFile = path.join(dir, "plan.json");
  const bytes = Buffer.from(JSON.stringify(plan));
  await writeFile(planFile, bytes, { mode: 0o600, flag: "wx" });
  const cli = fileURLToPath(new URL("../../cli.js", import.meta.url));
  const env = host.root === "/" ? [] : [`CROSSNIX_ROOT=${host.root}`];
  const argv = ["sudo", ...(interactive ? [] : ["-n"]), ...(env.length ? ["env", ...env] : []), process.execPath, cli];
  try {
    const run = await host.exec(
      [...argv, "internal", "apply-plan", "--sha256", planDigest(bytes), "--json", "--", planFile],
      {
        timeoutMs: 10 * 60_000,
      },
    );
    if (!succeeded(run)) {
      throw (
        errorReportedByRoot(run.stdout) ??
        new CrossnixError("PERMISSION", `sudo could not apply the plan: ${describeFailure(run)}`, {
          hint: "run the same crossnix command with sudo",
        })
      );
    }
    return (safeJson(run.stdout) as { result: ApplyResult }).result;
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * The error `internal apply-plan --json` printed as root, with its code, hint and detail intact
 * (so a plan outdated meanwhile is still recognised), or null when sudo itself failed.
 */
export function errorReportedByRoot(stdout: string): CrossnixError | null {
  const parsed = safeJson(stdout) as
    | { error?: { code?: ErrorCode; message?: string; hint?: string; detail?: Record<string, unknown> } }
    | undefined;
  if (!parsed?.error?.code || !parsed.error.message) return null;
  const { code, message, hint, detail } = parsed.error;
  return new CrossnixError(code, message, { ...(hint ? { hint } : {}), ...(detail ? { detail } : {}) });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
