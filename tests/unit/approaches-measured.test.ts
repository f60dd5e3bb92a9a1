// init's measured figures: the newest bench record per builder (a later skip never hides a real
// measurement; a torn line is skipped), and the sentence the recommendation gives for it.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { describeMeasurement, latestMeasurements } from "../../src/core/approaches/measured.js";
import { isBenchRun } from "../../src/core/bench/results.js";
import { readRecords } from "../../src/host/system/records.js";

const RECORDED = fileURLToPath(new URL("../fixtures/approaches/bench/bench.jsonl", import.meta.url));
const runs = readRecords(RECORDED, isBenchRun);
const DAY_AFTER = new Date("2026-12-03T09:00:00Z");

describe("latestMeasurements", () => {
  it("reads the recorded history: three whole runs, the torn last line skipped", () => {
    expect(runs.map((r) => r.at)).toEqual([
      "2026-11-20T10:00:00.000Z",
      "2026-12-02T09:30:00.000Z",
      "2026-12-02T18:00:00.000Z",
    ]);
  });

  it("keeps each builder's newest real measurement, even when a later run skipped it", () => {
    const latest = latestMeasurements(runs);
    expect([...latest.keys()]).toEqual(["big", "small"]);
    expect(latest.get("big")).toMatchObject({ at: "2026-12-02T09:30:00.000Z", reason: null, roundTripMs: 12 });
    expect(latest.get("big")!.systems[0]!.unitsPerSecond).toBeCloseTo(3.1, 2);
  });

  it("a builder that was only ever skipped carries the reason", () => {
    const latest = latestMeasurements([runs[2]!]);
    expect(describeMeasurement(latest.get("big")!, DAY_AFTER)).toBe(
      "big: crossnix bench could not measure it on 2026-12-02 (builder.connect failed: connection refused)",
    );
  });
});

describe("describeMeasurement", () => {
  const latest = latestMeasurements(runs);
  it("says units per second per system, the jobs, the round trip and the day", () => {
    expect(describeMeasurement(latest.get("big")!, DAY_AFTER)).toBe(
      "big: 3.1 benchmark units/s on x86_64-linux (8 at a time), 12 ms SSH round trip, measured 2026-12-02",
    );
    expect(describeMeasurement(latest.get("small")!, DAY_AFTER)).toBe(
      "small: 2.2 benchmark units/s on x86_64-linux (2 at a time), 3 ms SSH round trip, measured 2026-12-02",
    );
  });

  it("names a measurement over a month old as such", () => {
    expect(describeMeasurement(latest.get("small")!, new Date("2027-01-15T00:00:00Z"))).toBe(
      "small: 2.2 benchmark units/s on x86_64-linux (2 at a time), 3 ms SSH round trip, measured 2026-12-02 (over a month ago: crossnix bench measures it again)",
    );
  });
});
