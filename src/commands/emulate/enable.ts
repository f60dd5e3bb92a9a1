// `crossnix emulate enable [system…]`: the emulate use case, its result rendered.
import { emulate } from "../../app/emulation/emulate.js";
import type { Handler } from "../../context.js";
import { negatableOption } from "../options.js";
import { renderEmulate } from "./render.js";

const enable: Handler = async (ctx, { args, options }) => {
  const result = await emulate(ctx, "enable", args, { build: negatableOption(options, "build") });
  const failed = result.proofs.some((p) => !p.ok);
  return { json: result, text: renderEmulate(result), ...(failed ? { exitCode: 1 as const } : {}) };
};

export default enable;
