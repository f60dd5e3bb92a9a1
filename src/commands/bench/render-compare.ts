// Human output of `crossnix bench --compare`: one row per approach and system, measured.
import type { CompareResult } from "../../app/bench/compare.js";
import type { Style } from "../../ui/style.js";
import { renderTable } from "../../ui/table.js";

export function renderCompare(result: CompareResult, style: Style): string {
  const rows = result.rows.map((r) =>
    r.measured
      ? [
          r.name,
          r.approach,
          r.system,
          `${r.unit!.median.toFixed(2)} s`,
          `${r.throughput!.toFixed(2)}/s (${r.jobs} jobs)`,
          `${r.firstBuild!.median.toFixed(2)} s`,
          r.setup,
        ]
      : [r.name, r.approach, r.system, style.yellow("not measured"), "", "", r.why ?? ""],
  );
  return [
    renderTable(["NAME", "APPROACH", "SYSTEM", "PER UNIT", "THROUGHPUT", "FIRST BUILD", "SETUP"], rows),
    `A unit is ${result.bench.unitIterations.toLocaleString("en-US")} steps of a shell loop; medians of ${result.bench.runs} run(s).`,
  ].join("\n");
}
