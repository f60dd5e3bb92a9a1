// `crossnix native status|enable|disable`: Determinate's native Linux builder. Enable and disable edit
// only builder.* in /etc/determinate/config.json (through the plan runner), restart the daemon, then
// ask Nix whether it took effect (docs/determinate-native.md).
import type { Context } from "../../context.js";
import { NATIVE } from "../../core/approaches/footprints.js";
import { decodeNative, MODULE_OPTION, type NativeReason, type NativeStatus } from "../../core/approaches/native.js";
import { type BuilderState, editNativeConfig, parseNativeConfig } from "../../core/approaches/native-config.js";
import { emptyPlan } from "../../core/plan/plan.js";
import { atLeast } from "../../core/nix/version.js";
import { CrossnixError } from "../../errors.js";
import { readNativeFacts } from "../../host/approaches/snapshot.js";
import { detectHost } from "../../host/nix/detect.js";
import { type PlanOutcome, runPlan } from "../plan-runner.js";

export type NativeContext = Pick<Context, "host" | "options" | "prompt" | "out" | "warn" | "progress">;

/** Everything known about the native builder, determinate-nixd asked too. */
export async function nativeStatus(ctx: Pick<Context, "host">): Promise<NativeStatus> {
  const info = await detectHost(ctx.host);
  const facts = await readNativeFacts(ctx.host, info.nix.version, info.flavor === "determinate", true);
  return decodeNative(facts);
}

export interface NativeChange {
  state: BuilderState;
  memoryGiB?: number;
  cpus?: number;
}

export interface NativeChangeResult {
  /** "applied": written and restarted; "dry-run"; "noop": already so; "managed": the module owns the file. */
  outcome: "applied" | "dry-run" | "noop" | "managed";
  plan: PlanOutcome | null;
  /** The Nix the person sets instead, when the determinate module owns config.json. */
  nixSnippet: string | null;
  /** After the restart: what Nix reports now. null under --dry-run or "managed". */
  after: NativeStatus | null;
  tookEffect: boolean | null;
  reason: NativeReason | null;
}

export async function setNative(ctx: NativeContext, change: NativeChange): Promise<NativeChangeResult> {
  const info = await detectHost(ctx.host);
  const version = info.nix.version?.determinate ?? null;
  if (info.flavor !== "determinate") {
    throw new CrossnixError(
      "UNSUPPORTED",
      "the native Linux builder is part of Determinate Nix, which this machine does not run",
      {
        hint: "install Determinate Nix (https://docs.determinate.systems), or use crossnix builder add / crossnix migrate --to lima",
        nothingWritten: true,
      },
    );
  }
  if (change.state === "enabled" && version && !atLeast(version, NATIVE.minimumDeterminate)) {
    throw new CrossnixError(
      "UNSUPPORTED",
      `Determinate Nix ${version} has no native Linux builder (it came in ${NATIVE.minimumDeterminate})`,
      {
        hint: "sudo determinate-nixd upgrade",
        nothingWritten: true,
      },
    );
  }
  const text = await ctx.host.readText(NATIVE.configFile);
  const link = await ctx.host.linkTarget(NATIVE.configFile);
  const before = decodeNative(await readNativeFacts(ctx.host, info.nix.version, true, false));
  if (before.managedByModule) {
    const lines = [`determinateNix.determinateNixd.builder.state = "${change.state}";`];
    if (change.memoryGiB !== undefined)
      lines.push(`determinateNix.determinateNixd.builder.memoryBytes = ${gib(change.memoryGiB)};`);
    if (change.cpus !== undefined) lines.push(`determinateNix.determinateNixd.builder.cpuCount = ${change.cpus};`);
    return {
      outcome: "managed",
      plan: null,
      nixSnippet: lines.join("\n"),
      after: null,
      tookEffect: null,
      reason: {
        code: "disabled",
        message: `${NATIVE.configFile} is written by the determinate nix-darwin module (links to ${link}); ${MODULE_OPTION} owns builder.state`,
        fix: "set it in your nix-darwin configuration, then darwin-rebuild switch",
      },
    };
  }
  const parsed = parseNativeConfig(text);
  if (parsed.errors.length > 0) {
    throw new CrossnixError("PARSE", `${NATIVE.configFile} is not valid JSON (${parsed.errors.join(", ")})`, {
      exitCode: 2,
      hint: "fix the file by hand (determinate-nixd cannot read it either); crossnix edits only a file it can keep intact",
      nothingWritten: true,
    });
  }
  const after = editNativeConfig(text, {
    state: change.state,
    ...(change.memoryGiB !== undefined ? { memoryBytes: gib(change.memoryGiB) } : {}),
    ...(change.cpus !== undefined ? { cpuCount: change.cpus } : {}),
  });
  const plan = emptyPlan(`${change.state === "enabled" ? "Enable" : "Disable"} Determinate's native Linux builder`);
  if (after !== text) {
    plan.files.push({
      path: NATIVE.configFile,
      before: text,
      after,
      mode: 0o644,
      reason: `builder.state = ${change.state}`,
    });
    if (info.daemonReload) plan.commands.push({ ...info.daemonReload, optional: false });
  }
  if (change.state === "enabled")
    plan.notes.push(
      'builder.state = "enabled" is a request: Determinate builds only for accounts granted the feature, with determinate-nixd logged in.',
    );
  const outcome = await runPlan(ctx, plan);
  if (ctx.options.dryRun && !outcome.noop)
    return { outcome: "dry-run", plan: outcome, nixSnippet: null, after: null, tookEffect: null, reason: null };
  ctx.progress("Asking Nix whether the native builder is in use…");
  const now = await nativeStatus(ctx);
  const wanted = change.state === "enabled";
  const tookEffect = now.active === null ? null : now.active === wanted;
  return {
    outcome: outcome.noop ? "noop" : "applied",
    plan: outcome,
    nixSnippet: null,
    after: now,
    tookEffect,
    reason: tookEffect ? null : now.reason,
  };
}

function gib(value: number): number {
  return Math.round(value * 1024 ** 3);
}
