// The build view's state machine on real Nix 2.8 streams recorded on the test bed (tests/fixtures/internal-json).
import { describe, expect, it } from "vitest";
import { timingSplit } from "../../src/core/build/fleet-state.js";
import { readFixture, replay } from "../helpers/internal-json.js";

const byName = (r: ReturnType<typeof replay>) => new Map(r.tracker.builds.map((b) => [b.name, b]));
const seconds = (ms: number) => ms / 1000;

describe.each(["ssh-ng", "ssh"])("Nix 2.8 over %s, --keep-going", (scheme) => {
  const run = replay(readFixture(`nix-2.8-${scheme}-keep-going.jsonl`));
  const builds = byName(run);

  it("times each 2 s build from its start on the builder until its outputs are back", () => {
    for (const name of ["cx-view-0", "cx-view-1", "cx-view-2", "cx-view-joined"]) {
      const b = builds.get(name)!;
      expect(b.outcome, name).toBe("built");
      const split = timingSplit(b);
      expect(seconds(split.totalMs), name).toBeGreaterThanOrEqual(2.0);
      expect(seconds(split.totalMs), name).toBeLessThanOrEqual(3.5);
      expect(split.buildMs + split.copyInMs + split.copyOutMs).toBe(split.totalMs);
    }
  });

  it("names the builder from the hook's build activity, never the remote daemon's echo", () => {
    expect(builds.get("cx-view-0")!.builder).toBe("b1");
    expect(builds.get("cx-view-1")!.builder).toBe("b2");
    expect([...builds.values()].map((b) => b.builder)).not.toContain("local");
  });

  it("reports the failure and the derivation that never started because of it", () => {
    expect(builds.get("cx-view-failing")!.outcome).toBe("failed");
    expect(run.tracker.notStarted).toEqual([
      { drv: expect.stringMatching(/-cx-view-after-failing\.drv$/), reason: "1 dependency failed" },
    ]);
    expect(run.changes.filter((c) => c.kind === "failed")).toHaveLength(1);
  });

  it("counts the path fetched from the file:// cache", () => {
    expect(run.tracker.fetched.map((f) => f.name)).toEqual(["cx-view-cached"]);
    expect(run.tracker.fetched[0]!.from).toMatch(/^file:\/\/.*view-cache/);
    expect(run.tracker.fetchedBytes).toBe(120);
  });

  it("shows nothing running once Nix has exited, and never more builds on a builder than its slots", () => {
    const end = run.views.at(-1)!.view;
    expect(end.builders.every((b) => b.busy === 0)).toBe(true);
    for (const { view } of run.views) for (const b of view.builders) expect(b.busy).toBeLessThanOrEqual(b.max);
  });
});

describe.each(["ssh-ng", "ssh"])("Nix 2.8 over %s, stopping on the first failure", (scheme) => {
  const run = replay(readFixture(`nix-2.8-${scheme}-stop-on-failure.jsonl`));
  const builds = byName(run);

  it("never reports the builds Nix abandoned as built or running", () => {
    expect(builds.get("cx-view-failing")!.outcome).toBe("failed");
    for (const name of ["cx-view-0", "cx-view-1", "cx-view-2"]) {
      expect(builds.get(name)!.outcome, name).toBe("abandoned");
    }
    expect(run.changes.filter((c) => c.kind === "built")).toHaveLength(0);
    expect(run.views.at(-1)!.view.builders.flatMap((b) => b.builds)).toEqual([]);
  });
});

describe("Nix 2.8 interrupted (SIGINT) mid-build", () => {
  const run = replay(readFixture("nix-2.8-ssh-ng-interrupted.jsonl"));

  it("ends every running build as abandoned by the interrupt", () => {
    const started = run.changes.filter((c) => c.kind === "started").map((c) => (c.kind === "started" ? c.name : ""));
    expect(started.length).toBeGreaterThan(0);
    for (const b of run.tracker.builds) {
      expect(b.outcome).toBe("abandoned");
      expect(b.reason).toBe("interrupted");
    }
  });
});

describe("newer Nix's shapes (parent field, activity and result types 2.8 lacks)", () => {
  const old = replay(readFixture("nix-2.8-ssh-ng-keep-going.jsonl"));
  const newer = replay(readFixture("nix-2.18-shape-ssh-ng-keep-going.jsonl"));

  it("gives the same picture as the 2.8 stream it was derived from", () => {
    const summary = (r: ReturnType<typeof replay>) =>
      r.tracker.builds.map((b) => [b.name, b.builder, b.outcome, timingSplit(b).totalMs]);
    expect(summary(newer)).toEqual(summary(old));
    expect(newer.tracker.fetched.map((f) => f.name)).toEqual(["cx-view-cached"]);
  });
});

describe("events the recordings do not cover", () => {
  const at = (t: number, o: Record<string, unknown>) => ({ t, line: `@nix ${JSON.stringify(o)}` });
  const drv = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-hello-2.12.drv";

  it("a local build: on 'local', timed by its own activity, with its phase", () => {
    const run = replay([
      at(0, { action: "start", id: 1, type: 105, level: 3, text: "building", fields: [drv, "", 1, 1] }),
      at(10, { action: "result", id: 1, type: 104, fields: ["buildPhase"] }),
      at(1500, { action: "stop", id: 1 }),
      { t: 1510, exit: 0 },
    ]);
    expect(run.views[1]!.view.local).toEqual([{ name: "hello-2.12", elapsedMs: 10, activity: "buildPhase" }]);
    expect(run.tracker.builds[0]).toMatchObject({ builder: "local", outcome: "built", startedMs: 0, endedMs: 1500 });
  });

  it("waiting for a free builder, then fetching from an HTTP cache with a rate", () => {
    const path = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-big";
    const run = replay([
      at(0, {
        action: "start",
        id: 1,
        type: 111,
        level: 1,
        text: `waiting for a machine to build '${drv}'`,
        fields: [],
      }),
      at(0, { action: "start", id: 2, type: 108, level: 0, text: "", fields: [path, "https://cache.nixos.org"] }),
      at(0, {
        action: "start",
        id: 3,
        type: 101,
        level: 4,
        text: "downloading",
        fields: ["https://cache.nixos.org/nar/x.nar.xz"],
      }),
      at(1000, { action: "result", id: 3, type: 105, fields: [4 * 1024 * 1024, 8 * 1024 * 1024, 0, 0] }),
      at(1000, { action: "stop", id: 1 }),
    ]);
    const view = run.views.at(-1)!.view;
    expect(view.queue.waiting).toBe(0);
    expect(run.views[0]!.view.queue.waiting).toBe(1);
    expect(view.queue.fetching).toEqual([{ from: "cache.nixos.org", count: 1, bytesPerSecond: 4 * 1024 * 1024 }]);
  });
});
