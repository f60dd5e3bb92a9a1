// `crossnix builds`: the build history report (per-builder utilization, success rate, slowest derivations).
import { runBuildsReport } from "../app/builds.js";
import type { Handler } from "../context.js";
import { checkBuilderName } from "../core/builders/name.js";
import { parseSince } from "../core/build/history.js";
import { badInput } from "../errors.js";
import { formatSeconds } from "../ui/build-lines.js";
import { renderTable } from "../ui/table.js";
import { type RawOptions, stringOption } from "./options.js";

export function parseBuildsOptions(raw: RawOptions, nowMs: number): { sinceMs: number | null; builder: string | null } {
  const since = stringOption(raw, "since");
  const sinceMs = since === undefined ? null : parseSince(since, nowMs);
  if (since !== undefined && sinceMs === null)
    throw badInput("--since", since, "neither a date nor a duration", "e.g. 2026-12-01, 12h, 7d or 2w");
  const builder = stringOption(raw, "builder");
  return { sinceMs, builder: builder === undefined ? null : checkBuilderName("--builder", builder) };
}

/** What ran the builds, as the user would type it. */
const ORIGIN: Record<string, string> = { build: "crossnix build", doctor: "crossnix doctor", bench: "crossnix bench" };

const percent = (x: number | null) => (x === null ? "-" : `${Math.round(x * 100)}%`);

const builds: Handler = async (ctx, { options }) => {
  const filter = parseBuildsOptions(options, ctx.host.now().getTime());
  const report = runBuildsReport(ctx, filter);
  if (report.builders.length === 0) {
    return { json: report, text: "No builds recorded yet (crossnix build records each one)." };
  }
  const perBuilder = renderTable(
    ["BUILDER", "BUILDS", "OK", "FAILED", "NOT FINISHED", "SUCCESS", "BUSY", "UTILIZATION"],
    report.builders.map((b) => [
      b.name,
      String(b.builds),
      String(b.succeeded),
      String(b.failed),
      String(b.abandoned),
      percent(b.successRate),
      formatSeconds(b.busyMs),
      percent(b.utilization),
    ]),
  );
  const slowest = renderTable(
    ["DERIVATION", "BUILDER", "MEDIAN", "LAST", "RUNS", "TREND"],
    report.slowest.map((s) => [
      s.name,
      s.builder,
      formatSeconds(s.medianMs),
      formatSeconds(s.lastMs),
      String(s.runs),
      s.trend ?? "-",
    ]),
  );
  return {
    json: report,
    text: [
      perBuilder,
      "",
      `Recorded by: ${report.origins.map((o) => `${ORIGIN[o.via] ?? o.via} ${o.builds}`).join(" · ")}`,
      "",
      "Slowest derivations (median of the last 10 runs):",
      slowest,
    ].join("\n"),
  };
};

export default builds;
