// `crossnix migrate --to … [--from …] [--no-build]`: the migrate use case, its steps rendered.
import { migrate } from "../../app/approaches/migrate.js";
import type { Handler } from "../../context.js";
import { negatableOption, textOption } from "../options.js";
import { renderMigration } from "./render-migrate.js";

const handler: Handler = async (ctx, { options }) => {
  const from = textOption(options, "from");
  const result = await migrate(ctx, {
    to: textOption(options, "to") ?? "",
    ...(from !== undefined ? { from } : {}),
    build: negatableOption(options, "build"),
  });
  const failed = result.steps.some((s) => s.status === "failed");
  return { json: result, text: renderMigration(result, ctx.options.dryRun), exitCode: failed ? 1 : 0 };
};

export default handler;
