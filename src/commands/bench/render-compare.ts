// Human output of `crossnix bench --compare`: one row per approach and system, measured.
import type { CompareResult } from "../../app/bench/compare.js";
import { LOOPS_PER_ITERATION } from "../../app/bench/compare-emulation.js";
import type { Style } from "../../ui/style.js";
import { renderTable } from "../../ui/table.js";

export function renderCompare(result: CompareResult, style: Style): string {
  const rows = result.rows.map((r) =>
    r.measured
      ? [
          r.name,
          r.approach,
          r.system,
          `${r.unit!.median.toFixed(2)} s${r.unitKind === "machine-code-loop" ? "*" : ""}`,
          `${r.throughput!.toFixed(2)}/s (${r.jobs} jobs)`,
          `${r.firstBuild!.median.toFixed(2)} s`,
          r.setup,
        ]
      : [r.name, r.approach, r.system, style.yellow("not measured"), "", "", r.why ?? ""],
  );
  return [
    renderTable(["NAME", "APPROACH", "SYSTEM", "PER UNIT", "THROUGHPUT", "FIRST BUILD", "SETUP"], rows),
    `A unit is ${result.bench.unitIterations.toLocaleString("en-US")} steps of a shell loop in the builder's own /bin/sh; medians of ${result.bench.runs} run(s).`,
    ...(result.rows.some((r) => r.measured && r.unitKind === "machine-code-loop")
      ? [
          `* Emulation runs crossnix's machine-code loop program of the emulated CPU instead (${(result.bench.unitIterations * LOOPS_PER_ITERATION).toLocaleString("en-US")} steps; a shell would run natively): compare it with the same loop natively (SETUP). A tight loop is the best case for qemu-user; real builds slow down more.`,
        ]
      : []),
  ].join("\n");
}
