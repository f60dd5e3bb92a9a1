import { writeFile, unlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CrossnixError } from "../errors.js";
import { effectiveChanges, type FileChange, type Plan, shellQuoteForDisplay } from "../core/plan.js";
import { describeFailure, succeeded } from "./exec.js";
import { acquireLock, backupFile, canWrite, removeFileDurably, writeFileAtomic } from "./files.js";
import type { Host } from "./host.js";
import { readTextOrNull } from "./host.js";
import { SYSTEM_PATHS } from "./paths.js";

export interface ApplyResult {
  written: string[];
  deleted: string[];
  backups: string[];
  commands: { command: string; ok: boolean; detail?: string }[];
}

/**
 * Applies a plan under the crossnix lock. Every file is first checked against the `before` the
 * plan was computed from (someone else may have edited it meanwhile); then each is backed up and
 * replaced atomically; then the commands run in order.
 */
export async function applyPlan(host: Host, plan: Plan): Promise<ApplyResult> {
  const changes = effectiveChanges(plan);
  const lock = needsSystemLock(plan) ? await acquireLock(host.path(SYSTEM_PATHS.lockFile)) : { release: async () => {} };
  try {
    for (const change of changes) {
      const current = await readTextOrNull(realPathOf(host, change));
      if (current !== change.before) {
        throw new CrossnixError("CONFLICT", `${change.path} changed while crossnix was planning; nothing was written`, {
          hint: "run the command again",
        });
      }
    }
    const stamp = host.now().toISOString().replace(/[:.]/g, "-");
    const backupRoot = host.path(path.join(SYSTEM_PATHS.backupsDir, stamp));
    const result: ApplyResult = { written: [], deleted: [], backups: [], commands: [] };
    for (const change of changes) {
      const real = realPathOf(host, change);
      const backup = change.repoFile ? null : await backupFile(real, change.path, backupRoot);
      if (backup) result.backups.push(backup);
      if (change.after === null) {
        await removeFileDurably(real);
        result.deleted.push(change.path);
      } else {
        await writeFileAtomic(real, change.after, change.mode);
        result.written.push(change.path);
      }
    }
    for (const command of plan.commands) {
      const shown = command.argv.map(shellQuoteForDisplay).join(" ");
      const run = await host.exec(command.argv, { timeoutMs: 120_000 });
      if (succeeded(run)) {
        result.commands.push({ command: shown, ok: true });
      } else if (command.optional) {
        result.commands.push({ command: shown, ok: false, detail: describeFailure(run) });
      } else {
        throw new CrossnixError("EXEC", `${command.description} failed: ${describeFailure(run)}`, {
          hint: `the files were written (backups in ${backupRoot}); run '${shown}' by hand once the cause is fixed`,
        });
      }
    }
    return result;
  } finally {
    await lock.release();
  }
}

/** Where a planned file really is: repo files as given, system paths relocated under CROSSNIX_ROOT. */
export function realPathOf(host: Host, change: FileChange): string {
  return change.repoFile ? change.path : host.path(change.path);
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
  if (needsSystemLock(plan) && effectiveChanges(plan).length > 0 && !(await canWrite(host.path(SYSTEM_PATHS.lockFile)))) {
    blocked.push(SYSTEM_PATHS.lockFile);
  }
  return blocked;
}

/**
 * A normal user cannot write /etc/nix: hand the already-confirmed plan to `sudo crossnix
 * internal apply-plan <file>`, which applies exactly that plan (it re-checks every `before`).
 */
export async function applyPlanWithSudo(host: Host, plan: Plan, interactive: boolean): Promise<ApplyResult> {
  const planFile = path.join(os.tmpdir(), `crossnix-plan-${process.pid}-${Date.now()}.json`);
  await writeFile(planFile, JSON.stringify(plan), { mode: 0o600, flag: "wx" });
  const cli = fileURLToPath(new URL("../cli.js", import.meta.url));
  const env = host.root === "/" ? [] : [`CROSSNIX_ROOT=${host.root}`];
  const argv = ["sudo", ...(interactive ? [] : ["-n"]), ...(env.length ? ["env", ...env] : []), process.execPath, cli];
  try {
    const run = await host.exec([...argv, "internal", "apply-plan", planFile, "--json"], { timeoutMs: 10 * 60_000 });
    if (!succeeded(run)) {
      const parsed = safeJson(run.stdout) as { error?: { message?: string; hint?: string } } | undefined;
      throw new CrossnixError("PERMISSION", parsed?.error?.message ?? `sudo could not apply the plan: ${describeFailure(run)}`, {
        hint: parsed?.error?.hint ?? "run the same crossnix command with sudo",
      });
    }
    return (safeJson(run.stdout) as { result: ApplyResult }).result;
  } finally {
    await unlink(planFile).catch(() => {});
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
