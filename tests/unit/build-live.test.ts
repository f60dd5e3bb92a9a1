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
    expect.stringMatching(/^b1\s+2\/2 cx-view-0 \d\.\d s · cx-view-2 \d\.\d s$/),
    expect.stringMatching(/^b2\s+2\/2 cx-view-1 \d\.\d s · cx-view-failing \d\.\d s$/),
    expect.stringMatching(/^local\s+idle$/),
    expect.stringMatching(/^queue\s+empty$/),
  ]);
  expect(formatTotals(mid.view)).toMatch(/^0 built · 1 fetched \(120 B\) · 6 to go · \d\.\d s$/);
});
