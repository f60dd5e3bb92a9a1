// Build history: predictions (median of the last 10 per name and builder) and the `crossnix builds` report.
import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readBuildHistory, recordNixBuildRun } from "../../src/app/build-history.js";
import {
  type BuildHistoryRecord,
  buildsReport,
  makePredictor,
  parseSince,
  trendOf,
} from "../../src/core/build/history.js";
import { buildsInLog, failedInLog } from "../../src/core/build/nix-output.js";

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

describe("doctor's and bench's nix-build runs in the history", () => {
  const A = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-crossnix-dep-x86_64-linux.drv";
  const B = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-crossnix-probe-aarch64-linux.drv";
  // Nix 2.8's text log of a two-derivation nix-build whose second build failed on cx-b2
  // (as recorded in testbed/nix-2.8-errors.md): the hook and then the remote side announce each build.
  const log = [
    "these 2 derivations will be built:",
    `  ${A}`,
    `  ${B}`,
    `building '${A}' on 'ssh-ng://cx-b1'...`,
    "copying 0 paths...",
    `building '${A}'...`,
    "crossnix-probe built by cxb1 on x86_64",
    `building '${B}' on 'ssh-ng://cx-b2'...`,
    `building '${B}'...`,
    `error: builder for '${B}' failed with exit code 1`,
  ].join("\n");

  it("reads which derivations a text log built where, and which failed", () => {
    expect(buildsInLog(log)).toEqual([
      { drv: A, store: "ssh-ng://cx-b1" },
      { drv: B, store: "ssh-ng://cx-b2" },
    ]);
    expect(buildsInLog(`building '${A}'...`)).toEqual([{ drv: A, store: null }]);
    expect([...failedInLog(log)]).toEqual([B]);
    expect([...failedInLog(`error: Cannot build '${A}'.`)]).toEqual([A]);
  });

  it("records them through builds.jsonl tagged with their origin, shown by the report", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cx-history-"));
    const now = Date.parse("2026-12-02T10:00:00Z");
    const host = { env: { XDG_STATE_HOME: dir }, homeDir: dir, path: (p: string) => p, now: () => new Date(now) };
    try {
      recordNixBuildRun(host, {
        via: "doctor",
        builder: "b2",
        builderUri: "ssh-ng://cx-b2",
        system: "aarch64-linux",
        stderr: log,
        ok: false,
        durationMs: 2500,
      });
      recordNixBuildRun(host, {
        via: "bench",
        builder: "b1",
        builderUri: "ssh-ng://cx-b1",
        system: "x86_64-linux",
        stderr: `building '${A}' on 'ssh-ng://cx-b1'...`,
        ok: true,
        durationMs: 1000,
      });
      const records = readBuildHistory(host);
      expect(records.map((r) => [r.via, r.name, r.builder, r.outcome, r.system, r.totalMs])).toEqual([
        ["doctor", "crossnix-dep-x86_64-linux", "ssh-ng://cx-b1", "abandoned", "aarch64-linux", 2500],
        ["doctor", "crossnix-probe-aarch64-linux", "b2", "failed", "aarch64-linux", 2500],
        ["bench", "crossnix-dep-x86_64-linux", "b1", "built", "x86_64-linux", 1000],
      ]);
      expect(records[2]!.at).toBe("2026-12-02T10:00:00.000Z");
      expect(buildsReport(records, { sinceMs: null, builder: null }).origins).toEqual([
        { via: "doctor", builds: 2 },
        { via: "bench", builds: 1 },
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
