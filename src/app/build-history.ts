// Build history on disk: builds.jsonl in the user's state directory (src/host/system/records.ts),
// one record per derivation crossnix saw build, read back for predictions and `crossnix builds`.
import path from "node:path";
import { type DrvState, timingSplit } from "../core/build/fleet-state.js";
import { storeName } from "../core/build/internal-json.js";
import { buildsInLog, failedInLog } from "../core/build/nix-output.js";
import { type BuildHistoryRecord, isBuildHistoryRecord } from "../core/build/history.js";
import { appendRecords, readRecords, userStateDir } from "../host/system/records.js";
import type { Host } from "../host/system/host.js";

export function historyFile(host: Pick<Host, "env" | "homeDir" | "path">): string {
  return path.join(userStateDir(host), "builds.jsonl");
}

export function readBuildHistory(host: Pick<Host, "env" | "homeDir" | "path">): BuildHistoryRecord[] {
  return readRecords(historyFile(host), isBuildHistoryRecord);
}

/** Appends one record per derivation that ran (built, failed or abandoned) in this run. */
export function recordBuilds(
  host: Pick<Host, "env" | "homeDir" | "path">,
  run: { id: string; via: string; builds: DrvState[]; systems: Map<string, string> },
): void {
  const records: BuildHistoryRecord[] = [];
  for (const d of run.builds) {
    if (d.outcome === "running") continue;
    const t = timingSplit(d);
    const record: BuildHistoryRecord = {
      kind: "build",
      v: 1,
      at: new Date(d.endedMs ?? d.startedMs).toISOString(),
      run: run.id,
      via: run.via,
      name: d.name,
      drv: d.drv,
      system: run.systems.get(d.drv) ?? null,
      builder: d.builder,
      outcome: d.outcome === "stopped" ? "abandoned" : d.outcome,
      totalMs: t.totalMs,
      copyInMs: t.copyInMs,
      buildMs: t.buildMs,
      copyOutMs: t.copyOutMs,
      bytesIn: d.bytesIn,
      bytesOut: d.bytesOut,
    };
    records.push(record);
  }
  // One write and one fsync for the whole run.
  appendRecords(historyFile(host), records);
}

/**
 * Records the derivations a plain `nix-build` run built (doctor's end-to-end build, bench's
 * builds), through the same records as `crossnix build`, tagged with their origin. Their text log
 * has no timings, so each is timed by the whole run (evaluation and copies included), and the
 * builder is the one the run was confined to (`--builders` naming only it) unless Nix named another
 * store. History is a convenience: a failure to write it is ignored.
 */
export function recordNixBuildRun(
  host: Pick<Host, "env" | "homeDir" | "path" | "now">,
  run: {
    via: "doctor" | "bench";
    /** crossnix name of the builder the run was confined to ("local" for this machine). */
    builder: string;
    /** Its store URI, to tell a build elsewhere apart. */
    builderUri: string | null;
    system: string;
    stderr: string;
    ok: boolean;
    durationMs: number;
  },
): void {
  const endedMs = host.now().getTime();
  const startedMs = endedMs - run.durationMs;
  const sameStore = (a: string, b: string) => a.split("?")[0] === b.split("?")[0];
  // A failed run names the derivation that failed; the others Nix stopped. Without a name (the
  // builder could not be reached, say) every derivation of the run counts as failed.
  const failed = failedInLog(run.stderr);
  const outcome = (drv: string): DrvState["outcome"] =>
    run.ok ? "built" : failed.size === 0 || failed.has(drv) ? "failed" : "stopped";
  const builds: DrvState[] = buildsInLog(run.stderr).map(({ drv, store }) => ({
    drv,
    name: storeName(drv),
    builder:
      store === null ? "local" : run.builderUri !== null && sameStore(store, run.builderUri) ? run.builder : store,
    startedMs,
    endedMs,
    outcome: outcome(drv),
    copyInMs: 0,
    copyOutMs: 0,
    bytesIn: 0,
    bytesOut: 0,
    activity: "",
  }));
  try {
    recordBuilds(host, {
      id: `${new Date(endedMs).toISOString()}-${process.pid}-${run.via}`,
      via: run.via,
      builds,
      systems: new Map(builds.map((b) => [b.drv, run.system])),
    });
  } catch {
    // A full disk or a read-only home must not fail doctor or bench.
  }
}
