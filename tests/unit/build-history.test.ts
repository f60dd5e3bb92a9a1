// Build history: predictions (median of the last 10 per name and builder) and the `crossnix builds` report.
import { describe, expect, it } from "vitest";
import {
  type BuildHistoryRecord,
  buildsReport,
  makePredictor,
  parseSince,
  trendOf,
} from "../../src/core/build/history.js";

const record = (over: Partial<BuildHistoryRecord>): BuildHistoryRecord => ({
  kind: "build",
  v: 1,
  at: "2026-12-01T10:00:10.000Z",
  run: "r1",
  via: "build",
  name: "hello",
  drv: "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-hello.drv",
  system: "aarch64-linux",
  builder: "b1",
  outcome: "built",
  totalMs: 1000,
  copyInMs: 0,
  buildMs: 1000,
  copyOutMs: 0,
  bytesIn: 0,
  bytesOut: 0,
  ...over,
});

describe("predictions", () => {
  it("take the median of the last 10 successful runs on that builder, else on any builder", () => {
    const old = Array.from({ length: 5 }, () => record({ totalMs: 99_000 }));
    const recent = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => record({ totalMs: s * 1000 }));
    const predict = makePredictor([
      ...old,
      ...recent,
      record({ totalMs: 50_000, outcome: "failed" }),
      record({ builder: "b2", totalMs: 4000 }),
    ]);
    expect(predict("hello", "b1")).toBe(5500);
    expect(predict("hello", "b2")).toBe(4000);
    expect(predict("hello", "b3")).not.toBeNull();
    expect(predict("other", "b1")).toBeNull();
  });
});

describe("the builds report", () => {
  const records = [
    record({ run: "r1", at: "2026-12-01T10:00:02.000Z", totalMs: 2000 }),
    record({ run: "r1", at: "2026-12-01T10:00:04.000Z", totalMs: 2000, name: "slow", builder: "b2" }),
    record({ run: "r1", at: "2026-12-01T10:00:04.000Z", totalMs: 1000, outcome: "failed" }),
    record({ run: "r2", at: "2026-12-02T10:00:10.000Z", totalMs: 4000, name: "slow", builder: "b2" }),
    record({ run: "r2", at: "2026-12-02T10:00:10.000Z", totalMs: 500, outcome: "abandoned" }),
  ];

  it("gives each builder's success rate and utilization over the runs it took part in", () => {
    const report = buildsReport(records, { sinceMs: null, builder: null });
    const b1 = report.builders.find((b) => b.name === "b1")!;
    expect(b1).toMatchObject({ builds: 3, succeeded: 1, failed: 1, abandoned: 1, successRate: 0.5, busyMs: 3500 });
    const b2 = report.builders.find((b) => b.name === "b2")!;
    // r1 spans 10:00:00–10:00:04 (4 s), r2 10:00:06–10:00:10 (4 s); b2 was busy 6 s of those 8.
    expect(b2.utilization).toBeCloseTo(0.75);
    expect(report.slowest[0]).toMatchObject({ name: "slow", builder: "b2", medianMs: 3000, runs: 2, trend: "slower" });
  });

  it("filters by time and builder", () => {
    const since = Date.parse("2026-12-02T00:00:00Z");
    expect(buildsReport(records, { sinceMs: since, builder: null }).builders.map((b) => b.builds)).toEqual([1, 1]);
    expect(buildsReport(records, { sinceMs: null, builder: "b2" }).builders.map((b) => b.name)).toEqual(["b2"]);
  });

  it("reads --since as a date or a duration back from now", () => {
    const now = Date.parse("2026-12-02T12:00:00Z");
    expect(parseSince("12h", now)).toBe(Date.parse("2026-12-02T00:00:00Z"));
    expect(parseSince("2026-12-01", now)).toBe(Date.parse("2026-12-01T00:00:00Z"));
    expect(parseSince("yesterday", now)).toBeNull();
  });

  it("calls a trend only with at least two runs", () => {
    expect(trendOf([1000])).toBeNull();
    expect(trendOf([1000, 1000, 1050])).toBe("steady");
    expect(trendOf([1000, 1000, 500])).toBe("faster");
  });
});
