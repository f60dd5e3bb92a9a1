// `crossnix status`: which ways of getting Linux builds this machine has and whether each would build now.
import type { Context } from "../../context.js";
import { detectApproaches, type StatusReport } from "../../core/approaches/detect.js";
import { readSnapshot } from "../../host/approaches/snapshot.js";

export interface StatusInput {
  probe: boolean;
  timeoutSeconds: number;
}

/** Reads the machine (files only unless `probe`) and decides; the report is the whole answer. */
export async function machineStatus(ctx: Pick<Context, "host">, input: StatusInput): Promise<StatusReport> {
  const snapshot = await readSnapshot(ctx.host, { probe: input.probe, timeoutSeconds: input.timeoutSeconds });
  return detectApproaches(snapshot);
}
