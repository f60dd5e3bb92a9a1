// `crossnix migrate --to … [--from …]`: show the whole migration, bring the new approach up, prove it
// with a real build, and only then retire the old one: attributable pieces through the plan runner,
// module-owned ones as the Nix change to make, the rest named for the person (docs/approaches.md#migrate).
import { randomBytes } from "node:crypto";
import type { Context } from "../../context.js";
import { detectApproaches, type StatusReport } from "../../core/approaches/detect.js";
import { mergeByDestination, parseRemoteSystemsPairs, systemFirstLines } from "../../core/approaches/manual.js";
import {
  commentOutLines,
  linuxBuilderWarnings,
  type MigrationTarget,
  parseTarget,
  type Retirement,
  retirementFor,
  selectFrom,
  targetApproachId,
  targetLabel,
  targetNixChange,
  unexpectedFilesWarning,
} from "../../core/approaches/migrate.js";
import { VM_FOOTPRINTS } from "../../core/approaches/footprints.js";
import type { ApproachSnapshot } from "../../core/approaches/snapshot.js";
import { parseBuilderRequest } from "../../core/builders/request.js";
import { E2E_OUTPUT, e2eExpression } from "../../core/doctor/e2e.js";
import { emptyPlan } from "../../core/plan/plan.js";
import { CrossnixError } from "../../errors.js";
import { readSnapshot } from "../../host/approaches/snapshot.js";
import { readTextOrNull } from "../../host/system/host.js";
import { addBuilder } from "../builders/add.js";
import { removeBuilder } from "../builders/remove.js";
import { runDoctor } from "../doctor.js";
import { runPlan } from "../plan-runner.js";
import { bringUpLima } from "./migrate-lima.js";
import { setNative } from "./native.js";

export type MigrateContext = Omit<Context, "debug">;

export interface MigrateInput {
  to: string;
  from?: string;
  /** Prove the new approach with a real build before retiring anything (--no-build: retire nothing). */
  build: boolean;
  /** false: bring up only, retire nothing (init). */
  retire?: boolean;
}

export type StepStatus = "done" | "planned" | "for-you" | "skipped" | "failed";

export interface MigrateStep {
  phase: "prepare" | "bring-up" | "prove" | "retire";
  text: string;
  status: StepStatus;
}

export interface MigrateResult {
  to: string;
  from: string[];
  steps: MigrateStep[];
  /** Nix changes the person makes (module-owned approaches), exactly as to paste. */
  nixChanges: string[];
  warnings: string[];
  /** true: a real build succeeded on the new approach; null: not tried (dry run, --no-build, not up). */
  proven: boolean | null;
  retired: boolean;
  /** The command that retires the old approach once the new one is up (it was not up in this run). */
  retireLater: string | null;
}

export async function migrate(ctx: MigrateContext, input: MigrateInput): Promise<MigrateResult> {
  const target = parseTarget(input.to);
  const snapshot = await readSnapshot(ctx.host, { probe: false, timeoutSeconds: ctx.options.timeout });
  const report = detectApproaches(snapshot);
  const from = input.retire === false ? [] : selectFrom(report, input.from, target);
  const retirements = from.map((a) =>
    retirementFor(a, {
      manual: manualBuilders(snapshot),
      profileLines: snapshot.profileLines,
      machinesFile: snapshot.machines.path,
    }),
  );
  const result: MigrateResult = {
    to: targetLabel(target),
    from: from.map((a) => a.label),
    steps: [],
    nixChanges: [],
    warnings: [],
    proven: null,
    retired: false,
    retireLater: null,
  };
  const step = (phase: MigrateStep["phase"], text: string, status: StepStatus) =>
    result.steps.push({ phase, text, status });
  ctx.out(input.retire === false ? `Setting up ${targetLabel(target)}:\n` : overview(target, retirements, input.build));

  // The guide's lines in /etc/nix/machines make Nix reject the whole file (and crossnix refuse to edit
  // it): comment them out first. Nothing is lost: no builder in that file worked.
  const comment = retirements.flatMap((r) => r.actions).find((a) => a.kind === "comment-lines");
  if (comment && comment.kind === "comment-lines" && snapshot.machines.text !== null) {
    const plan = emptyPlan("Comment out the guide's system-first lines (Nix rejects the whole file because of them)");
    plan.files.push({
      path: comment.file,
      before: snapshot.machines.text,
      after: commentOutLines(snapshot.machines.text, comment.lines),
      reason: `lines ${comment.lines.join(", ")} have the system and URI columns swapped`,
    });
    const outcome = await runPlan(ctx, plan);
    step(
      "prepare",
      `${comment.file}: comment out lines ${comment.lines.join(", ")}`,
      outcome.applied ? "done" : "planned",
    );
  }

  // Bring the new approach up. Under --dry-run with the guide's lines still in the machines file,
  // builder add would stop at them (crossnix never edits a file Nix rejects): say what it will do.
  const blockedByGuideLines = ctx.options.dryRun && comment !== undefined && target.kind === "ssh";
  const up = blockedByGuideLines
    ? plannedAdd(target.destination, step)
    : await bringUp(ctx, target, report, result, step);
  if (
    up.writesEtc &&
    report.approaches.some((a) => a.managedBy === "nix-darwin" || a.managedBy === "determinate-module")
  )
    result.warnings.push(unexpectedFilesWarning(["/etc/nix/machines", "/etc/ssh/ssh_config.d/crossnix.conf"]));
  // A bring-up that is the person's to do (a nix-darwin option) or already failed cannot be proven in
  // this run, dry or not: the retirement is deferred rather than shown as planned.
  const notThisRun = result.steps.some(
    (s) => s.phase === "bring-up" && (s.status === "for-you" || s.status === "failed"),
  );
  if (ctx.options.dryRun && !notThisRun) {
    for (const r of retirements) for (const a of r.actions) recordRetire(result, r, a, "planned", step);
    return result;
  }
  if (!up.ready) {
    // Retiring waits for the proof; the person runs the same migration again once the new approach is up.
    if (input.retire !== false) {
      if (retirements.length > 0) {
        result.retireLater = `crossnix migrate --to ${targetLabel(target)}${input.from ? ` --from ${input.from}` : ""}`;
        step(
          "retire",
          `deferred: nothing is retired until ${targetLabel(target)} is up and a build on it succeeds; then run ${result.retireLater}`,
          "skipped",
        );
      } else step("retire", "nothing to retire", "skipped");
    }
    return result;
  }

  // Prove it with a real build.
  if (!input.build) {
    if (input.retire !== false) step("prove", "no build (--no-build), so nothing is retired", "skipped");
    return result;
  }
  result.proven = up.builds
    ? provenBy(up.builds, up.builderName ?? "", step)
    : await prove(ctx, up.builderName, report, step);
  if (!result.proven) {
    step("retire", "nothing retired: the old approach stays as it was", "skipped");
    throw new CrossnixError(
      "CHECK_FAILED",
      `the new approach (${targetLabel(target)}) did not build, so nothing old was retired`,
      {
        hint: "see the steps above; crossnix doctor says why; the old approach is untouched",
        detail: { migration: result },
      },
    );
  }

  // Retire the old, only now.
  for (const r of retirements) {
    for (const a of r.actions) {
      if (a.kind === "remove-builder") {
        const removed = await removeBuilder(ctx, { name: a.name });
        step(
          "retire",
          `builder ${a.name} removed (entry, ssh alias, pinned and dedicated keys)`,
          removed.outcome.applied ? "done" : "planned",
        );
      } else if (a.kind === "disable-native") {
        const off = await setNative(ctx, { state: "disabled" });
        step(
          "retire",
          "native builder disabled in /etc/determinate/config.json",
          off.tookEffect === false ? "failed" : "done",
        );
      } else if (a.kind !== "comment-lines") recordRetire(result, r, a, "for-you", step);
    }
  }
  result.retired = true;
  return result;
}

function recordRetire(
  result: MigrateResult,
  r: Retirement,
  a: Retirement["actions"][number],
  status: StepStatus,
  step: (phase: MigrateStep["phase"], text: string, status: StepStatus) => void,
): void {
  if (a.kind === "comment-lines") return;
  if (a.kind === "nix-change") result.nixChanges.push(a.snippet);
  const text =
    a.kind === "remove-builder"
      ? `crossnix builder remove ${a.name}`
      : a.kind === "disable-native"
        ? 'native builder disabled (builder.state = "disabled")'
        : a.kind === "nix-change"
          ? `set ${a.snippet} (${a.why})`
          : a.kind === "report"
            ? `remove ${a.what}: ${a.where}`
            : `run ${a.command} (${a.why})`;
  const crossnixDoesIt = a.kind === "remove-builder" || a.kind === "disable-native";
  step("retire", `${r.label}: ${text}`, crossnixDoesIt ? status : "for-you");
}

function manualBuilders(s: ApproachSnapshot) {
  return mergeByDestination([
    ...(s.env.NIX_REMOTE_SYSTEMS ? parseRemoteSystemsPairs(s.env.NIX_REMOTE_SYSTEMS) : []),
    ...(s.userMachines.text ? systemFirstLines(s.userMachines.text, s.userMachines.path) : []),
    ...(s.machines.text ? systemFirstLines(s.machines.text, s.machines.path) : []),
  ]);
}

function overview(target: MigrationTarget, retirements: Retirement[], build: boolean): string {
  const lines = [`Migration to ${targetLabel(target)}:`, `  1. bring up ${targetLabel(target)}`];
  lines.push(build ? "  2. prove it with a real build on it" : "  2. (no build: --no-build, so nothing is retired)");
  lines.push("  3. only then retire:");
  if (retirements.length === 0) lines.push("     nothing (no other approach found)");
  for (const r of retirements) lines.push(`     ${r.label} (${r.title}): ${r.actions.length} step(s)`);
  return `${lines.join("\n")}\n`;
}

function plannedAdd(
  destination: string,
  step: (phase: MigrateStep["phase"], text: string, status: StepStatus) => void,
): BringUp {
  step(
    "bring-up",
    `crossnix builder add ${destination} --copy-key: probe, pin its host key, register it (its plan is shown once the lines above are commented out)`,
    "planned",
  );
  return { ready: false, builderName: null, writesEtc: true };
}

interface BringUp {
  ready: boolean;
  builderName: string | null;
  /** Builds the bring-up already ran on the new builder (vm create's): the proof, so no second build. */
  builds?: { system: string; ok: boolean; detail: string }[] | null;
  /** The new approach writes /etc/nix/machines and the ssh alias by hand. */
  writesEtc: boolean;
}

async function bringUp(
  ctx: MigrateContext,
  target: MigrationTarget,
  report: StatusReport,
  result: MigrateResult,
  step: (phase: MigrateStep["phase"], text: string, status: StepStatus) => void,
): Promise<BringUp> {
  const dry = ctx.options.dryRun;
  if (target.kind === "ssh") {
    // The daemon gets its own key, installed through the person's login (the guide's ssh-copy-id).
    const request = parseBuilderRequest(target.destination, { copyKey: true });
    const added = await addBuilder(ctx, request);
    const done = added.outcome.applied || added.outcome.noop;
    step(
      "bring-up",
      `builder ${added.name} (${target.destination}): probed, host key ${added.hostKey.fingerprint} pinned, ${added.entry.systems.join(",")}`,
      done ? "done" : "planned",
    );
    return { ready: done && !dry, builderName: added.name, writesEtc: true };
  }
  if (target.kind === "native") {
    const native = await setNative(ctx, { state: "enabled" });
    if (native.outcome === "managed") {
      result.nixChanges.push(native.nixSnippet ?? "");
      step(
        "bring-up",
        `set ${native.nixSnippet} in your nix-darwin configuration, darwin-rebuild switch, then run this again`,
        "for-you",
      );
      return { ready: false, builderName: null, writesEtc: false };
    }
    if (native.outcome === "dry-run") {
      step("bring-up", 'native builder: builder.state = "enabled", daemon restarted', "planned");
      return { ready: false, builderName: null, writesEtc: false };
    }
    const ok = native.tookEffect === true;
    step(
      "bring-up",
      ok
        ? "native builder enabled and in use"
        : `native builder enabled but not in use: ${native.reason?.message ?? "unknown"} (fix: ${native.reason?.fix ?? "crossnix native status"})`,
      ok ? "done" : "failed",
    );
    return { ready: ok, builderName: null, writesEtc: false };
  }
  if (target.kind === "lima") {
    const lima = await bringUpLima(ctx, target.name, report);
    step("bring-up", lima.text, lima.status);
    return { ready: lima.ready, builderName: lima.builderName, writesEtc: true, builds: lima.builds };
  }
  return linuxBuilderUp(ctx, target, report, result, step);
}

/**
 * nixpkgs' builder VM comes only through nix-darwin: once darwin-rebuild has set it up it is proven like
 * any builder (its machines host is its name); before that, the exact change and what would break.
 */
function linuxBuilderUp(
  ctx: MigrateContext,
  target: MigrationTarget,
  report: StatusReport,
  result: MigrateResult,
  step: (phase: MigrateStep["phase"], text: string, status: StepStatus) => void,
): BringUp {
  const determinate = report.nix.flavor === "determinate";
  const id = targetApproachId(target, determinate);
  const up = report.approaches.find((a) => a.id === id && (a.state === "configured" || a.state === "works"));
  const alias = VM_FOOTPRINTS.find((f) => f.id === id)?.alias ?? null;
  if (up && alias) {
    step("bring-up", `${up.title} is set up by nix-darwin (machines host ${alias})`, "done");
    return { ready: !ctx.options.dryRun, builderName: alias, writesEtc: false };
  }
  const snippet = targetNixChange(target, determinate) ?? "";
  result.nixChanges.push(snippet);
  result.warnings.push(...linuxBuilderWarnings(report));
  step(
    "bring-up",
    `set ${snippet.replace(/\s+#.*$/, "")} in your nix-darwin configuration and run darwin-rebuild switch`,
    "for-you",
  );
  return { ready: false, builderName: null, writesEtc: false };
}

/** The builds the bring-up ran (vm create builds once per system) as the proof. */
function provenBy(
  builds: NonNullable<BringUp["builds"]>,
  builderName: string,
  step: (phase: MigrateStep["phase"], text: string, status: StepStatus) => void,
): boolean {
  const ok = builds.length > 0 && builds.every((b) => b.ok);
  const failed = builds.filter((b) => !b.ok).map((b) => `${b.system}: ${b.detail}`);
  step(
    "prove",
    ok
      ? `built ${builds.map((b) => b.system).join(", ")} on ${builderName}`
      : `the build on ${builderName} failed: ${failed.join("; ") || "no build ran"}`,
    ok ? "done" : "failed",
  );
  return ok;
}

/** A real build on the new approach: doctor's end-to-end build for a builder, a Linux derivation for native. */
async function prove(
  ctx: MigrateContext,
  builderName: string | null,
  report: StatusReport,
  step: (phase: MigrateStep["phase"], text: string, status: StepStatus) => void,
): Promise<boolean> {
  if (builderName !== null) {
    ctx.progress(`Building on ${builderName} to prove it…`);
    const doctor = await runDoctor(ctx, { builder: builderName, build: true, timeoutSeconds: ctx.options.timeout });
    const e2e = doctor.checks.filter((c) => c.group === "end-to-end");
    const builds = e2e.filter((c) => c.status !== "skip");
    const ok = builds.length > 0 && builds.every((c) => c.status === "ok");
    step(
      "prove",
      ok
        ? `built on ${builderName}: ${builds.map((c) => c.observed).join("; ")}`
        : `the build on ${builderName} failed: ${builds.map((c) => c.observed).join("; ") || `no build ran (${e2e.map((c) => c.observed).join("; ") || "doctor has no build check"})`}`,
      ok ? "done" : "failed",
    );
    return ok;
  }
  const system = report.native.systems[0] ?? "aarch64-linux";
  const nonce = `${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
  ctx.progress(`Building a ${system} derivation to prove the native builder…`);
  const run = await ctx.host.exec(["nix-build", "--no-out-link", "--expr", e2eExpression(system, nonce)], {
    env: ctx.host.env,
    timeoutMs: Math.max(60, ctx.options.timeout * 6) * 1000,
  });
  const out = run.stdout.trim().split("\n").at(-1) ?? "";
  const content = out.startsWith("/") ? await readTextOrNull(out).catch(() => null) : null;
  const ok = run.exitCode === 0 && content?.trim() === E2E_OUTPUT;
  step(
    "prove",
    ok
      ? `built a derivation for ${system} through external-builders`
      : `the ${system} build failed: ${run.stderr.trim().split("\n").at(-1) ?? `exit ${run.exitCode}`}`,
    ok ? "done" : "failed",
  );
  return ok;
}
