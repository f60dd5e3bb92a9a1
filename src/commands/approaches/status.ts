// `crossnix status [--probe]`: the status use case, rendered.
import { machineStatus } from "../../app/approaches/status.js";
import type { Handler } from "../../context.js";
import { flagOption } from "../options.js";
import { renderStatus } from "./render-status.js";

const status: Handler = async (ctx, { options }) => {
  const report = await machineStatus(ctx, { probe: flagOption(options, "probe"), timeoutSeconds: ctx.options.timeout });
  return { json: report, text: renderStatus(report) };
};

export default status;
