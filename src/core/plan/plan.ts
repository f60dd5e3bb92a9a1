// A Plan: file changes and commands described before anything runs, with diffs for display.
import { createTwoFilesPatch } from "diff";
import { quoteCommand } from "../shell.js";

/**
 * A mutation, described before anything happens: file changes (whole before/after texts) and
 * commands. `--dry-run` renders it; applying it is host/apply.ts's job.
 */
export interface FileChange {
  /** Absolute system path as the user sees it (before CROSSNIX_ROOT relocation). */
  path: string;
  /** Current contents; null when the file does not exist yet. */
  before: string | null;
  /** New contents; null deletes the file. */
  after: string | null;
  /** Mode for a new file (existing files keep theirs). */
  mode?: number;
  /** Why this file changes, one line. */
  reason: string;
  /**
   * A file in the user's working tree (e.g. a GitHub workflow), as an absolute path resolved
   * against the current directory: not relocated by CROSSNIX_ROOT, not backed up (version control
   * keeps its history) and written without the system lock.
   */
  repoFile?: boolean;
  /** Contents must never be shown (private keys): the diff says so instead. */
  secret?: boolean;
  /**
   * The machine the file is on when it is not this one: a builder, named as its applier's `where`
   * (e.g. "build-box.lan"). Shown as `machine:path`; only that machine's applier may apply it.
   */
  machine?: string;
}

export interface PlanCommand {
  argv: string[];
  description: string;
  /** Apply continues when this fails, reporting it (e.g. a daemon reload on a machine without one). */
  optional?: boolean;
  /** It only makes files under the root in use (e.g. ssh-keygen -f <root>/etc/nix/crossnix/…), so it runs under CROSSNIX_ROOT too. */
  withinRoot?: boolean;
  /** Files (real paths) the command makes; they join the plan's journal, so undo removes them. */
  creates?: string[];
}

export interface Plan {
  title: string;
  files: FileChange[];
  commands: PlanCommand[];
  /** Things the user should know that are not changes (e.g. a Nix snippet to paste). */
  notes: string[];
}

export function emptyPlan(title: string): Plan {
  return { title, files: [], commands: [], notes: [] };
}

/** Drops file changes that change nothing, so re-running a command is a visible no-op. */
export function effectiveChanges(plan: Plan): FileChange[] {
  return plan.files.filter((f) => f.before !== f.after);
}

export function isNoop(plan: Plan): boolean {
  return effectiveChanges(plan).length === 0 && plan.commands.length === 0;
}

/** The file as a person names it: its path, prefixed `machine:` when it is on another machine. */
export function shownPath(change: FileChange): string {
  return change.machine === undefined ? change.path : `${change.machine}:${change.path}`;
}

export function unifiedDiff(change: FileChange): string {
  if (change.secret) {
    const what = change.before === null ? "created" : change.after === null ? "deleted" : "replaced";
    return `(${shownPath(change)}: secret contents not shown; file ${what})`;
  }
  // A file on this machine is labelled a/… and b/… (as git does); one on a builder machine:/path.
  const label = (side: "a" | "b") => (change.machine === undefined ? `${side}${change.path}` : shownPath(change));
  const oldName = change.before === null ? "/dev/null" : label("a");
  const newName = change.after === null ? "/dev/null" : label("b");
  const patch = createTwoFilesPatch(oldName, newName, change.before ?? "", change.after ?? "", "", "", {
    context: 3,
  });
  // Drop the "Index:"/"====" preamble createTwoFilesPatch adds; keep the ---/+++ header and hunks.
  return patch
    .split("\n")
    .filter((line, i) => !(i < 2 && (line.startsWith("Index:") || line.startsWith("===="))))
    .join("\n")
    .replace(/\t\n/g, "\n");
}

export interface RenderedPlan {
  title: string;
  files: { path: string; action: "create" | "modify" | "delete"; reason: string; diff: string }[];
  commands: { command: string; argv: string[]; description: string }[];
  notes: string[];
}

export function describePlan(plan: Plan): RenderedPlan {
  return {
    title: plan.title,
    files: effectiveChanges(plan).map((f) => ({
      path: shownPath(f),
      action: f.before === null ? "create" : f.after === null ? "delete" : "modify",
      reason: f.reason,
      diff: unifiedDiff(f),
    })),
    commands: plan.commands.map((c) => ({
      command: quoteCommand(c.argv),
      argv: c.argv,
      description: c.description,
    })),
    notes: plan.notes,
  };
}
