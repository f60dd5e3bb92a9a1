// `crossnix emulate disable [system…]`: the emulate use case, its result rendered.
import { emulate } from "../../app/emulation/emulate.js";
import type { Handler } from "../../context.js";
import { renderEmulate } from "./render.js";

const disable: Handler = async (ctx, { args }) => {
  const result = await emulate(ctx, "disable", args, { build: false });
  return { json: result, text: renderEmulate(result) };
};

export default disable;
