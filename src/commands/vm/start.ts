// `crossnix vm start [name]`: the name checked, Lima's start for a VM that exists.
import { startVm } from "../../app/vm/lifecycle.js";
import type { Handler } from "../../context.js";
import { checkVmName } from "../../core/vm/lima.js";
import { renderAction } from "./render.js";

const start: Handler = async (ctx, { args }) => {
  const result = await startVm(ctx, checkVmName(args[0] ?? "nixbuilder"));
  return { json: result, text: renderAction(result) };
};

export default start;
