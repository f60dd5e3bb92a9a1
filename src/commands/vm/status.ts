// `crossnix vm status [name]` and `vm list`: Lima's view joined with each builder's.
import { vmStatuses } from "../../app/vm/status.js";
import type { Handler } from "../../context.js";
import { checkVmName } from "../../core/vm/lima.js";
import { renderStatuses } from "./render.js";

const status: Handler = async (ctx, { args }) => {
  const list = await vmStatuses(ctx, args[0] ? [checkVmName(args[0])] : []);
  const bad = list.some((s) => s.managed && (s.warnings.length > 0 || s.lima?.status === "Broken"));
  return { json: { vms: list }, text: renderStatuses(list), ...(bad ? { exitCode: 1 as const } : {}) };
};

export default status;
