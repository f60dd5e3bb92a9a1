// `crossnix vm stop [name]`: the name checked, Lima's stop for a VM that exists.
import { stopVm } from "../../app/vm/lifecycle.js";
import type { Handler } from "../../context.js";
import { checkVmName } from "../../core/vm/lima.js";
import { renderAction } from "./render.js";

const stop: Handler = async (ctx, { args }) => {
  const result = await stopVm(ctx, checkVmName(args[0] ?? "nixbuilder"));
  return { json: result, text: renderAction(result) };
};

export default stop;
