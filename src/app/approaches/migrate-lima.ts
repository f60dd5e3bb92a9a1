// `migrate --to lima`: the Lima VM comes up through `crossnix vm create`'s own use case (or the VM crossnix
// already made is started), and vm create's build per system is the proof (docs/approaches.md#migrate-to-lima).
import type { StatusReport } from "../../core/approaches/detect.js";
import { parseVmRequest } from "../../core/vm/lima.js";
import { isCrossnixError } from "../../errors.js";
import { createVm, type VmContext } from "../vm/create.js";
import { startVm } from "../vm/lifecycle.js";

export interface LimaBringUp {
  ready: boolean;
  builderName: string | null;
  /** Builds vm create already ran on the new builder (the proof), or null: prove it with a build. */
  builds: { system: string; ok: boolean; detail: string }[] | null;
  text: string;
  status: "done" | "planned" | "failed";
}

/** Never throws a CrossnixError: a failure is a failed step, so migrate retires nothing and says why. */
export async function bringUpLima(ctx: VmContext, name: string, report: StatusReport): Promise<LimaBringUp> {
  const existing = report.approaches.find((a) => a.id === "lima" && a.label === `lima:${name}`);
  try {
    if (existing) return await startExisting(ctx, name, existing);
    return await create(ctx, name);
  } catch (error) {
    if (!isCrossnixError(error)) throw error;
    return {
      ready: false,
      builderName: existing?.footprint.sshAlias?.alias ?? null,
      builds: null,
      text: `Lima VM ${name} did not come up: ${error.message}${error.hint ? ` (${error.hint})` : ""}`,
      status: "failed",
    };
  }
}

async function startExisting(
  ctx: VmContext,
  name: string,
  existing: StatusReport["approaches"][number],
): Promise<LimaBringUp> {
  const builderName = existing.footprint.sshAlias?.alias ?? `lima-${name}`;
  // A stopped VM is started; anything else missing (instance gone, no machines line) is vm's to mend.
  const blocking = existing.problems.filter((p) => !p.includes("is stopped"));
  if (blocking.length > 0) {
    return {
      ready: false,
      builderName,
      builds: null,
      text: `${existing.title} (made by crossnix): ${blocking.join("; ")}; see crossnix vm status ${name}`,
      status: "failed",
    };
  }
  const started = await startVm(ctx, name);
  const dry = ctx.options.dryRun;
  return {
    ready: !dry,
    builderName,
    builds: null,
    text: `${existing.title} (made by crossnix, builder ${builderName}): ${started.action}`,
    status: dry ? "planned" : "done",
  };
}

async function create(ctx: VmContext, name: string): Promise<LimaBringUp> {
  const request = parseVmRequest(name, {});
  const made = await createVm(ctx, request);
  const what = `builder ${made.builderName} (${request.systems.join(", ")}) on 127.0.0.1:${made.sshPort}`;
  if (made.dryRun) {
    return {
      ready: false,
      builderName: made.builderName,
      builds: null,
      text: `crossnix vm create ${name}: create and start the VM (Lima ${made.lima}), install Nix, pin its host key, register ${what}, build once per system`,
      status: "planned",
    };
  }
  const registered = made.outcome !== null && (made.outcome.applied || made.outcome.noop);
  return {
    ready: registered,
    builderName: made.builderName,
    builds: registered ? made.builds : null,
    text: registered
      ? `Lima VM ${name}: ${made.steps.join(", ")}; ${what}`
      : `Lima VM ${name} is running, but ${made.builderName} was not registered (its plan was not applied)`,
    status: registered ? "done" : "planned",
  };
}
