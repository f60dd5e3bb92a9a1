// The native builder's handlers and their text: status, and enable/disable sharing one handler.
import { nativeStatus, setNative } from "../../app/approaches/native.js";
import { describeOutcome } from "../../app/plan-runner.js";
import type { NativeStatus } from "../../core/approaches/native.js";
import type { Handler } from "../../context.js";
import { badInput } from "../../errors.js";
import { type RawOptions, stringOption } from "../options.js";

export function renderNativeStatus(s: NativeStatus): string {
  if (!s.determinate) return `Native builder: not available (${s.reason?.message ?? "not Determinate Nix"}).`;
  const eb =
    s.externalBuilders === null
      ? "unknown"
      : s.externalBuilders.length === 0
        ? "[] (empty)"
        : s.externalBuilders.map((b) => `${b.program} ${b.args.join(" ")} for ${b.systems.join(",")}`).join("; ");
  const lines = [
    `Determinate Nix ${s.version ?? "(version unknown)"}`,
    `config.json builder.state: ${s.config.state ?? "unset"}${s.config.memoryBytes ? `, memoryBytes ${s.config.memoryBytes}` : ""}${s.config.cpuCount ? `, cpuCount ${s.config.cpuCount}` : ""}${s.managedByModule ? " (written by the determinate nix-darwin module)" : ""}`,
    `external-builders: ${eb}`,
    `granted to this account: ${s.granted ?? "unknown"}; logged in: ${s.loggedIn ?? "unknown"}`,
    s.active ? `In use: Linux builds (${s.systems.join(", ")}) run on the native builder.` : "Not in use.",
  ];
  if (s.reason) lines.push(`Why: ${s.reason.message}`, `Fix: ${s.reason.fix}`);
  return lines.join("\n");
}

export const nativeStatusHandler: Handler = async (ctx) => {
  const s = await nativeStatus(ctx);
  return { json: s, text: renderNativeStatus(s), exitCode: s.active ? 0 : 1 };
};

function positive(raw: RawOptions, key: string, flag: string): number | undefined {
  const value = stringOption(raw, key);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw badInput(flag, value, "must be a positive number");
  return n;
}

export function nativeChangeHandler(state: "enabled" | "disabled"): Handler {
  return async (ctx, { options }) => {
    const memoryGiB = positive(options, "memory", "--memory");
    const cpus = positive(options, "cpus", "--cpus");
    if (cpus !== undefined && !Number.isInteger(cpus)) throw badInput("--cpus", String(cpus), "must be a whole number");
    const r = await setNative(ctx, {
      state,
      ...(memoryGiB !== undefined ? { memoryGiB } : {}),
      ...(cpus !== undefined ? { cpus } : {}),
    });
    const lines: string[] = [];
    if (r.outcome === "managed") {
      lines.push(r.reason?.message ?? "", "Set instead, in your nix-darwin configuration:", "", r.nixSnippet ?? "");
    } else {
      if (r.plan) lines.push(describeOutcome(r.plan));
      if (r.outcome === "noop") lines.push(`builder.state is already ${state}.`);
      if (r.after) lines.push(renderNativeStatus(r.after));
      if (r.tookEffect === true)
        lines.push(
          state === "enabled"
            ? "It took effect: Nix now sends Linux builds to determinate-nixd."
            : "It took effect: external-builders no longer runs determinate-nixd.",
        );
      if (r.tookEffect === false) lines.push("It did not take effect (see Why above).");
    }
    const json = {
      outcome: r.outcome,
      plan: r.plan?.plan ?? null,
      applied: r.plan?.applied ?? false,
      nixSnippet: r.nixSnippet,
      tookEffect: r.tookEffect,
      reason: r.reason,
      status: r.after,
    };
    const failed = r.outcome === "managed" || r.tookEffect === false;
    return { json, text: lines.filter((l) => l !== "").join("\n"), exitCode: failed ? 1 : 0 };
  };
}
