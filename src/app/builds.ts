// The `crossnix builds` use case: reads the build history and reports on it.
import type { Context } from "../context.js";
import { type BuildsReport, buildsReport } from "../core/build/history.js";
import { readBuildHistory } from "./build-history.js";

export function runBuildsReport(
  ctx: Pick<Context, "host">,
  filter: { sinceMs: number | null; builder: string | null },
): BuildsReport & { records: number } {
  const records = readBuildHistory(ctx.host);
  return { ...buildsReport(records, filter), records: records.length };
}
