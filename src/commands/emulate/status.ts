// `crossnix emulate status [system…]`: binfmt_misc and extra-platforms per system.
import { emulationStatus } from "../../app/emulation/status.js";
import type { Handler } from "../../context.js";
import { renderEmulationStatus } from "./render.js";

const status: Handler = async (ctx, { args }) => {
  const result = await emulationStatus(ctx.host, args);
  const broken = result.systems.some((s) => s.state === "configured-without-interpreter");
  return { json: result, text: renderEmulationStatus(result), ...(broken ? { exitCode: 1 as const } : {}) };
};

export default status;
