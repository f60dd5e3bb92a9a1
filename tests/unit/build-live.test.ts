// The live view's lines, from the real Nix 2.8 stream replayed to a moment mid-build.
import { expect, it } from "vitest";
import { liveLines } from "../../src/ui/build-live.js";
import { formatTotals } from "../../src/ui/build-lines.js";
import { readFixture, replay } from "../helpers/internal-json.js";

it("shows each builder's slots and builds, local work, the queue and the totals", () => {
  const records = readFixture("nix-2.8-ssh-ng-keep-going.jsonl");
  // By 1.5 s: three leaves and the failing derivation are running on the two builders.
  const run = replay(records.filter((r) => r.t <= 1500));
  const mid = run.views.at(-1)!;
  const lines = liveLines(mid.view).map((l) => `${l.label} ${l.text}`);
  expect(lines).toEqual([
    expect.stringMatching(/^b1\s+2\/2 cx-view-0 \d+ s · cx-view-2 \d+ s$/),
    expect.stringMatching(/^b2\s+2\/2 cx-view-1 \d+ s · cx-view-failing \d+ s$/),
    expect.stringMatching(/^local\s+idle$/),
    expect.stringMatching(/^queue\s+empty$/),
  ]);
  expect(formatTotals(mid.view)).toMatch(/^0 built · 1 fetched \(120 B\) · 6 to go · \d\.\d s$/);
});

it("keeps the region shorter than the terminal: busy builders first, the rest on one line", () => {
  const builder = (name: string, busy: number) => ({
    name,
    busy,
    max: 2,
    builds: Array.from({ length: busy }, (_, i) => ({ name: `d${i}`, elapsedMs: 1000, activity: "building" })),
  });
  const view = {
    builders: [builder("a", 0), builder("b", 1), builder("c", 0), builder("d", 2), builder("e", 0)],
    local: [],
    queue: { waiting: 0, fetching: [] },
    totals: { built: 0, failed: 0, fetched: 0, fetchedBytes: 0, toGo: 0, elapsedMs: 0, etaMs: null },
  };
  // 7 rows: 6 for the region (with the status line), so 3 builder lines.
  const lines = liveLines(view, 7).map((l) => `${l.label} ${l.text}`.replace(/\s+/g, " "));
  expect(lines).toEqual([
    "b 1/2 d0 1 s",
    "d 2/2 d0 1 s · d1 1 s",
    "… 3 more builders, 0 busy",
    "local idle",
    "queue empty",
  ]);
  expect(liveLines(view).length).toBe(7);
});
