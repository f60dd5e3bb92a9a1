// `crossnix init [--approach …] [--no-doctor]`: the init use case, rendered.
import { init } from "../../app/approaches/init.js";
import type { Handler } from "../../context.js";
import { negatableOption, textOption } from "../options.js";
import { renderMigration } from "./render-migrate.js";

const handler: Handler = async (ctx, { options }) => {
  const approach = textOption(options, "approach");
  const r = await init(ctx, {
    ...(approach !== undefined ? { approach } : {}),
    doctor: negatableOption(options, "doctor"),
  });
  const lines = [renderMigration(r.setup, ctx.options.dryRun)];
  if (r.doctor)
    lines.push(
      "",
      r.doctor.ok
        ? "Doctor: every check passed."
        : `Doctor found problems:\n${r.doctor.failed.map((f) => `  ${f}`).join("\n")}`,
    );
  const failed = r.setup.steps.some((s) => s.status === "failed") || r.doctor?.ok === false;
  return { json: r, text: lines.join("\n"), exitCode: failed ? 1 : 0 };
};

export default handler;
