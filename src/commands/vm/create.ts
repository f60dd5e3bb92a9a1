// `crossnix vm create [name]`: flags checked (exit 2), the create use case, its result rendered.
import { createVm } from "../../app/vm/create.js";
import type { Handler } from "../../context.js";
import { parseVmRequest } from "../../core/vm/lima.js";
import { textOption } from "../options.js";
import { renderCreate } from "./render.js";

const create: Handler = async (ctx, { args, options }) => {
  const request = parseVmRequest(args[0], {
    ...(textOption(options, "cpus") !== undefined ? { cpus: textOption(options, "cpus")! } : {}),
    ...(textOption(options, "memory") !== undefined ? { memory: textOption(options, "memory")! } : {}),
    ...(textOption(options, "disk") !== undefined ? { disk: textOption(options, "disk")! } : {}),
    ...(options["rosetta"] === false ? { rosetta: false } : {}),
    ...(textOption(options, "systems") !== undefined ? { systems: textOption(options, "systems")! } : {}),
    ...(textOption(options, "template") !== undefined ? { template: textOption(options, "template")! } : {}),
    ...(textOption(options, "autostart") !== undefined ? { autostart: textOption(options, "autostart")! } : {}),
  });
  const result = await createVm(ctx, request);
  const failed = result.builds.some((b) => !b.ok);
  return { json: result, text: renderCreate(result), ...(failed ? { exitCode: 1 as const } : {}) };
};

export default create;
