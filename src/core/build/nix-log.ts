// Parses Nix's `--log-format internal-json` stream into build events and per-derivation records.
import { stripAnsi } from "../diagnosis/index.js";

/**
 * Reads `--log-format internal-json` (Nix ≥ 2.4): one `@nix {…}` object per stderr line.
 * Activity and result type numbers are Nix's (libutil/logging.hh), stable since 2.4.
 */
const ACT_COPY_PATH = 100;
const ACT_BUILD = 105;
const ACT_SUBSTITUTE = 108;
const RES_BUILD_LOG_LINE = 101;

interface NixLogObject {
  action: "start" | "stop" | "result" | "msg" | "setPhase" | string;
  id?: number;
  type?: number;
  level?: number;
  msg?: string;
  text?: string;
  fields?: unknown[];
}

export type LogEvent =
  | { kind: "build-start"; drv: string; machine: string }
  | { kind: "build-end"; drv: string; machine: string; seconds: number }
  | { kind: "log"; drv: string; line: string }
  | { kind: "substitute"; path: string; from: string }
  | { kind: "message"; level: number; text: string };

interface Activity {
  type: number;
  fields: unknown[];
  startedMs: number;
}

export interface BuildRecord {
  drv: string;
  /** Store URI of the machine as Nix names it, "" for a local build. */
  machine: string;
  seconds: number | null;
}

/**
 * Nix opens a build activity with an empty machine for every derivation goal and, when the build
 * hook takes it, a second one naming the machine. The goal's activity brackets the real build;
 * the machine's one may stay open until the whole `nix build` ends (seen with Nix 2.8). So a
 * derivation is timed by its goal activity and attributed to the machine named by the other.
 */
export class NixLogTracker {
  private readonly activities = new Map<number, Activity>();
  private readonly byDrv = new Map<string, BuildRecord>();
  readonly builds: BuildRecord[] = [];
  readonly substituted: { path: string; from: string }[] = [];
  readonly copied: { path: string; from: string; to: string }[] = [];
  /** Error and warning texts (ANSI stripped), for diagnosis. */
  readonly messages: string[] = [];

  private record(drv: string): BuildRecord {
    let record = this.byDrv.get(drv);
    if (!record) {
      record = { drv, machine: "", seconds: null };
      this.byDrv.set(drv, record);
      this.builds.push(record);
    }
    return record;
  }

  feed(line: string, nowMs: number): LogEvent | null {
    if (!line.startsWith("@nix ")) {
      const text = stripAnsi(line);
      if (text.trim() === "") return null;
      this.messages.push(text);
      return { kind: "message", level: 3, text };
    }
    let object: NixLogObject;
    try {
      object = JSON.parse(line.slice(5)) as NixLogObject;
    } catch {
      return null;
    }
    const fields = object.fields ?? [];
    switch (object.action) {
      case "start": {
        if (object.id === undefined || object.type === undefined) return null;
        this.activities.set(object.id, { type: object.type, fields, startedMs: nowMs });
        if (object.type === ACT_BUILD) {
          const record = this.record(String(fields[0] ?? ""));
          const machine = String(fields[1] ?? "");
          if (machine === "") return null;
          record.machine = machine;
          return { kind: "build-start", drv: record.drv, machine };
        }
        if (object.type === ACT_SUBSTITUTE) {
          const entry = { path: String(fields[0] ?? ""), from: String(fields[1] ?? "") };
          this.substituted.push(entry);
          return { kind: "substitute", ...entry };
        }
        if (object.type === ACT_COPY_PATH) {
          this.copied.push({
            path: String(fields[0] ?? ""),
            from: String(fields[1] ?? ""),
            to: String(fields[2] ?? ""),
          });
        }
        return null;
      }
      case "stop": {
        const activity = object.id === undefined ? undefined : this.activities.get(object.id);
        if (!activity) return null;
        this.activities.delete(object.id!);
        if (activity.type !== ACT_BUILD) return null;
        const record = this.record(String(activity.fields[0] ?? ""));
        const seconds = (nowMs - activity.startedMs) / 1000;
        const goal = String(activity.fields[1] ?? "") === "";
        // The machine's activity only times a build when there is no goal activity at all.
        if (!goal && record.seconds !== null) return null;
        if (!goal && [...this.activities.values()].some((a) => a.type === ACT_BUILD && a.fields[0] === record.drv))
          return null;
        record.seconds = seconds;
        return { kind: "build-end", drv: record.drv, machine: record.machine, seconds };
      }
      case "result": {
        if (object.type !== RES_BUILD_LOG_LINE || object.id === undefined) return null;
        const activity = this.activities.get(object.id);
        return { kind: "log", drv: String(activity?.fields[0] ?? ""), line: String(fields[0] ?? "") };
      }
      case "msg": {
        const text = stripAnsi(object.msg ?? "");
        if (text.trim() === "") return null;
        this.messages.push(text);
        return { kind: "message", level: object.level ?? 3, text };
      }
      default:
        return null;
    }
  }
}

/** `foo` from `/nix/store/<hash>-foo.drv`, for short progress lines. */
export function drvName(drv: string): string {
  return drv.replace(/^.*\/[a-z0-9]{32}-/, "").replace(/\.drv$/, "");
}
