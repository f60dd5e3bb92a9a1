// Test helper: replays a recorded internal-json stream (tests/fixtures/internal-json/*.jsonl) through the build tracker.
import * as fs from "node:fs";
import path from "node:path";
import { BuildTracker, type Change, type TrackerOptions } from "../../src/core/build/fleet-state.js";
import { parseNixLine } from "../../src/core/build/internal-json.js";

export const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/internal-json");

/** One recorded stderr line and when it arrived (ms after nix started), or Nix's exit. */
export type Recorded = { t: number; line: string } | { t: number; exit: number | null };

export function readFixture(name: string): Recorded[] {
  return fs
    .readFileSync(path.join(FIXTURES, name), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Recorded);
}

/** The test bed's two builders as the capture script registered them. */
export const CAPTURE_MACHINES: TrackerOptions["machines"] = [
  { name: "b1", uris: ["ssh-ng://b1", "ssh://b1"], maxJobs: 2 },
  { name: "b2", uris: ["ssh-ng://b2", "ssh://b2"], maxJobs: 2 },
];

export interface Replay {
  tracker: BuildTracker;
  changes: Change[];
  /** The view at each recorded moment, to check invariants over the whole run. */
  views: { t: number; view: ReturnType<BuildTracker["view"]> }[];
  exit: number | null;
}

export function replay(records: Recorded[], options: Partial<TrackerOptions> = {}): Replay {
  const tracker = new BuildTracker({ machines: CAPTURE_MACHINES, ...options });
  const changes: Change[] = [];
  const views: Replay["views"] = [];
  let exit: number | null = null;
  let last = 0;
  for (const r of records) {
    last = r.t;
    if ("exit" in r) {
      exit = r.exit;
      changes.push(...tracker.finish(r.exit, r.t));
      continue;
    }
    const event = parseNixLine(r.line);
    if (event) changes.push(...tracker.apply(event, r.t));
    views.push({ t: r.t, view: tracker.view(r.t) });
  }
  if (exit === null) changes.push(...tracker.finish(null, last));
  return { tracker, changes, views, exit };
}
