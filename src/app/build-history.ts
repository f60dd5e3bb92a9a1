// Build history on disk: builds.jsonl in the user's state directory (src/host/system/records.ts),
// one record per derivation crossnix saw build, read back for predictions and `crossnix builds`.
import path from "node:path";
import { type DrvState, timingSplit } from "../core/build/fleet-state.js";
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
