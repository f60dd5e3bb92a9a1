// The build view without a terminal: one timestamped line per state change, GitHub Actions groups, the summary.
import { describe, expect, it } from "vitest";
import { ActionsGroups, formatChange, formatSummary } from "../../src/ui/build-lines.js";
import { makeStyle } from "../../src/ui/style.js";
import { readFixture, replay } from "../helpers/internal-json.js";

const style = makeStyle(false);
const lines = (name: string, logs = false) => {
  const run = replay(readFixture(name));
  return {
    run,
    lines: run.changes
      .map((c) => formatChange(c, { style, verbose: false, logs }))
      .filter((l): l is string => l !== null),
  };
};

describe("append-only lines from the real Nix 2.8 stream", () => {
  it("says who started, finished, failed or never started, each line stamped HH:MM:SS", () => {
    const { lines: out } = lines("nix-2.8-ssh-ng-keep-going.jsonl");
    for (const l of out) expect(l).toMatch(/^\d\d:\d\d:\d\d /);
    const text = out.map((l) => l.slice(9));
    expect(text).toEqual([
      expect.stringMatching(/^↓ cx-view-cached from file:\/\/\/.*view-cache$/),
      "▸ cx-view-0 on b1",
      "▸ cx-view-1 on b2",
      "▸ cx-view-2 on b1",
      "▸ cx-view-failing on b2",
      expect.stringMatching(/^✗ cx-view-failing failed on b2 after 1\.\d s$/),
      expect.stringMatching(/^✓ cx-view-0 on b1 2\.\d s$/),
      expect.stringMatching(/^✓ cx-view-1 on b2 2\.\d s$/),
      expect.stringMatching(/^✓ cx-view-2 on b1 2\.\d s$/),
      "▸ cx-view-joined on b1",
      expect.stringMatching(/^✓ cx-view-joined on b1 2\.\d s$/),
      "○ cx-view-after-failing not started: 1 dependency failed",
    ]);
  });

  it("interleaves logs with -L, prefixed with derivation and builder", () => {
    const { lines: out } = lines("nix-2.8-ssh-ng-keep-going.jsonl", true);
    expect(out).toContain("cx-view-failing@b2> error: the thing is broken");
  });

  it("groups a failed build's log for GitHub Actions", () => {
    const { run } = lines("nix-2.8-ssh-keep-going.jsonl");
    const groups = new ActionsGroups(false);
    const out = run.changes.flatMap((c) => groups.feed(c, formatChange(c, { style, verbose: false, logs: false })));
    const open = out.findIndex((l) => l.startsWith("::group::") && l.includes("✗ cx-view-failing"));
    expect(open).toBeGreaterThan(-1);
    expect(out.slice(open + 1, open + 3)).toEqual(["compiling the thing", "error: the thing is broken"]);
    expect(out[open + 3]).toBe("::endgroup::");
    expect(out.filter((l) => l.startsWith("::group::"))).toHaveLength(1);
  });

  it("ends with what was built where, fetched from which cache, failed, and not finished", () => {
    const { run } = lines("nix-2.8-ssh-ng-stop-on-failure.jsonl");
    const summary = formatSummary(
      {
        builds: run.tracker.builds,
        fetched: run.tracker.fetched,
        notStarted: run.tracker.notStarted,
        seconds: 2.2,
        fetchedBytes: run.tracker.fetchedBytes,
      },
      style,
      false,
    );
    expect(summary[0]).toMatch(/^Fetched 1 path \(120 B\) from file:\/\/.*view-cache/);
    expect(summary[1]).toBe("Failed 1: cx-view-failing on b2");
    expect(summary[2]).toMatch(
      /^Not finished 4: cx-view-0 \(stopped by Nix after a failure\), cx-view-1 .*, cx-view-after-failing \(1 dependency failed\)$/,
    );
    expect(summary.at(-1)).toBe("Done in 2.2 s.");
  });
});
