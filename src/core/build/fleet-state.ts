// The build view's state machine: folds Nix's internal-json events into who builds what where, what
// waits, what is fetched, and true per-derivation timings (docs/internal-json.md). Pure: time is given.
import { Act, type NixEvent, Res, storeName } from "./internal-json.js";

export interface FleetMachine {
  /** crossnix's name for the builder. */
  name: string;
  /** Store URIs Nix may use for it in messages (the machines entry's, normalised or not). */
  uris: string[];
  /** Slots (the machines file's max-jobs). */
  maxJobs: number;
}

export interface TrackerOptions {
  machines: FleetMachine[];
  /** Derivations Nix said it will build and paths it will fetch (`--dry-run`), for "to go". */
  planned?: { toBuild: string[]; toFetch: string[] };
  /** Output path → derivation, to attribute a copy of outputs when several builds share a builder. */
  outputs?: Map<string, string>;
  /** Predicted milliseconds for a derivation name on a builder (null: no history), for the ETA. */
  predict?: (name: string, builder: string | null) => number | null;
}

export type DrvOutcome = "running" | "built" | "failed" | "abandoned" | "stopped";

export interface DrvState {
  drv: string;
  name: string;
  /** crossnix builder name, "local" for this machine. */
  builder: string;
  startedMs: number;
  endedMs: number | null;
  outcome: DrvOutcome;
  /** Time spent copying inputs to the builder and outputs back (activities of the build hook). */
  copyInMs: number;
  copyOutMs: number;
  bytesIn: number;
  bytesOut: number;
  /** What is happening now: "copying inputs", "building", "copying outputs", or a local build's phase. */
  activity: string;
  /** Why it did not finish, for abandoned builds. */
  reason?: string;
}

export interface FetchState {
  path: string;
  name: string;
  from: string;
  startedMs: number;
  endedMs: number | null;
  bytes: number;
}

export type Change =
  | { kind: "started"; at: number; drv: string; name: string; builder: string }
  | { kind: "waiting"; at: number; drv: string; name: string }
  | { kind: "built"; at: number; build: DrvState }
  | { kind: "failed"; at: number; build: DrvState }
  | { kind: "abandoned"; at: number; drv: string; name: string; builder: string | null; reason: string }
  | { kind: "fetching"; at: number; path: string; name: string; from: string }
  | { kind: "fetched"; at: number; fetch: FetchState }
  | { kind: "log"; at: number; drv: string; name: string; builder: string; line: string }
  | { kind: "message"; at: number; level: number; text: string };

export interface BuilderLine {
  name: string;
  busy: number;
  max: number;
  builds: { name: string; elapsedMs: number; activity: string }[];
}

export interface BuildView {
  builders: BuilderLine[];
  local: { name: string; elapsedMs: number; activity: string }[];
  queue: { waiting: number; fetching: { from: string; count: number; bytesPerSecond: number | null }[] };
  totals: {
    built: number;
    failed: number;
    fetched: number;
    fetchedBytes: number;
    toGo: number;
    elapsedMs: number;
    etaMs: number | null;
  };
}

/** What an activity id stands for once its start has been read. */
type Role =
  | { role: "build"; drv: string; remote: boolean }
  | { role: "echo"; drv: string }
  | { role: "copy-in"; drv: string | null; machine: string; startedMs: number }
  | { role: "copy-out"; drv: string | null; machine: string; startedMs: number }
  | { role: "copy-path"; path: string; src: string; dst: string; owner: number | null }
  | { role: "substitute"; path: string }
  | { role: "transfer"; url: string; done: number }
  | { role: "waiting"; drv: string }
  | { role: "builds" }
  | { role: "other"; type: number };

const QUOTED = /'([^']+)'/;

function quoted(text: string): string | null {
  return QUOTED.exec(text)?.[1] ?? null;
}

/** The host of a cache URL for short lines ("cache.nixos.org"), the URL itself when it has none. */
export function cacheLabel(url: string): string {
  const m = /^[a-z0-9+.-]+:\/\/([^/?]+)/i.exec(url);
  return m?.[1] ? m[1] : url.replace(/\?.*$/, "");
}

export class BuildTracker {
  private readonly roles = new Map<number, Role>();
  private readonly drvs = new Map<string, DrvState>();
  private readonly fetches = new Map<string, FetchState>();
  private readonly waiting = new Set<string>();
  /** Derivations Nix gave up on before they ever ran (a dependency failed). */
  private readonly never = new Map<string, string>();
  private readonly byUri = new Map<string, FleetMachine>();
  private firstMs: number | null = null;
  private topBuilds: number | null = null;
  private topRealise: number | null = null;
  /** What Nix expects to download for all substitutions (resSetExpected on the top actRealise). */
  private expectedDownload = 0;
  private buildsProgress: { done: number; expected: number; failed: number } | null = null;
  private interrupted = false;
  private failureSeen = false;
  /** Error and warning texts, ANSI stripped, for diagnosis. */
  readonly messages: string[] = [];

  constructor(private readonly options: TrackerOptions) {
    for (const m of options.machines) for (const uri of m.uris) this.byUri.set(uri, m);
  }

  /** crossnix's name for a machine as Nix names it ("" is this machine). */
  builderName(machine: string): string {
    if (machine === "" || machine === "local") return "local";
    return this.byUri.get(machine)?.name ?? machine;
  }

  get builds(): DrvState[] {
    return [...this.drvs.values()];
  }

  get fetched(): FetchState[] {
    return [...this.fetches.values()];
  }

  /** Derivations Nix never started because a dependency failed, with that reason. */
  get notStarted(): { drv: string; reason: string }[] {
    return [...this.never].map(([drv, reason]) => ({ drv, reason }));
  }

  apply(event: NixEvent, nowMs: number): Change[] {
    this.firstMs ??= nowMs;
    switch (event.action) {
      case "start":
        return this.start(event, nowMs);
      case "stop":
        return this.stop(event.id, nowMs);
      case "result":
        return this.result(event, nowMs);
      case "msg":
        return this.message(event.level, event.text, nowMs);
      case "text":
        return this.message(0, event.text, nowMs);
    }
  }

  /** crossnix forwarded an interrupt to Nix: builds that stop from now on were abandoned. */
  interrupt(): void {
    this.interrupted = true;
  }

  /** Nix has exited: nothing is running any more; builds that merely stopped are settled by the exit code. */
  finish(exitCode: number | null, nowMs: number): Change[] {
    const changes: Change[] = [];
    for (const d of this.drvs.values()) {
      if (d.outcome === "stopped" && exitCode === 0) {
        d.outcome = "built";
        changes.push({ kind: "built", at: d.endedMs ?? nowMs, build: d });
      } else if (d.outcome === "running" || d.outcome === "stopped") {
        const told = d.reason !== undefined;
        d.outcome = "abandoned";
        d.endedMs ??= nowMs;
        d.reason ??= this.interrupted ? "interrupted" : "Nix stopped it";
        if (!told) changes.push(this.abandonedChange(d, nowMs));
      }
    }
    this.waiting.clear();
    for (const f of this.fetches.values()) f.endedMs ??= nowMs;
    return changes;
  }

  private abandonedChange(d: DrvState, at: number): Change {
    return { kind: "abandoned", at, drv: d.drv, name: d.name, builder: d.builder, reason: d.reason ?? "" };
  }

  private start(e: Extract<NixEvent, { action: "start" }>, now: number): Change[] {
    const f = e.fields;
    switch (e.type) {
      case Act.build: {
        const drv = String(f[0] ?? "");
        const machine = String(f[1] ?? "");
        const known = this.drvs.get(drv);
        // ssh-ng: the builder's own daemon reports the same build again with machine "" (docs/internal-json.md#remote-builds).
        if (machine === "" && known && known.builder !== "local" && known.outcome === "running") {
          this.roles.set(e.id, { role: "echo", drv });
          return [];
        }
        const state: DrvState = {
          drv,
          name: storeName(drv),
          builder: this.builderName(machine),
          startedMs: now,
          endedMs: null,
          outcome: "running",
          copyInMs: 0,
          copyOutMs: 0,
          bytesIn: 0,
          bytesOut: 0,
          activity: "building",
        };
        this.drvs.set(drv, state);
        this.waiting.delete(drv);
        this.roles.set(e.id, { role: "build", drv, remote: machine !== "" });
        return [{ kind: "started", at: now, drv, name: state.name, builder: state.builder }];
      }
      case Act.buildWaiting: {
        const drv = quoted(e.text);
        if (!drv || !e.text.startsWith("waiting for a machine")) {
          this.roles.set(e.id, { role: "other", type: e.type });
          return [];
        }
        this.roles.set(e.id, { role: "waiting", drv });
        if (this.waiting.has(drv)) return [];
        this.waiting.add(drv);
        return [{ kind: "waiting", at: now, drv, name: storeName(drv) }];
      }
      case Act.unknown: {
        const machine = quoted(e.text);
        if (machine && e.text.startsWith("copying dependencies to")) {
          const d = this.oldestRunningOn(machine, (x) => x.activity === "building" && x.copyInMs === 0);
          if (d) d.activity = "copying inputs";
          this.roles.set(e.id, { role: "copy-in", drv: d?.drv ?? null, machine, startedMs: now });
        } else if (machine && e.text.startsWith("copying outputs from")) {
          const candidates = this.runningOn(machine).filter((x) => x.activity !== "copying outputs");
          const d = candidates.length === 1 ? candidates[0]! : null;
          if (d) d.activity = "copying outputs";
          this.roles.set(e.id, { role: "copy-out", drv: d?.drv ?? null, machine, startedMs: now });
        } else this.roles.set(e.id, { role: "other", type: e.type });
        return [];
      }
      case Act.copyPath: {
        const [path, src, dst] = [String(f[0] ?? ""), String(f[1] ?? ""), String(f[2] ?? "")];
        const owner = this.openCopyOut(src);
        this.roles.set(e.id, { role: "copy-path", path, src, dst, owner });
        if (owner !== null) this.claimCopyOut(owner, path);
        return [];
      }
      case Act.substitute: {
        const path = String(f[0] ?? "");
        const from = String(f[1] ?? "");
        this.roles.set(e.id, { role: "substitute", path });
        const fetch: FetchState = { path, name: storeName(path), from, startedMs: now, endedMs: null, bytes: 0 };
        this.fetches.set(path, fetch);
        return [{ kind: "fetching", at: now, path, name: fetch.name, from }];
      }
      case Act.fileTransfer:
        this.roles.set(e.id, { role: "transfer", url: String(f[0] ?? ""), done: 0 });
        return [];
      case Act.realise:
        this.topRealise ??= e.id;
        this.roles.set(e.id, { role: "other", type: e.type });
        return [];
      case Act.builds:
        this.topBuilds ??= e.id;
        this.roles.set(e.id, { role: "builds" });
        return [];
      default:
        this.roles.set(e.id, { role: "other", type: e.type });
        return [];
    }
  }

  /** The copy-out activity open for this machine that no path has been matched to yet. */
  private openCopyOut(machine: string): number | null {
    for (const [id, r] of this.roles) if (r.role === "copy-out" && r.machine === machine) return id;
    return null;
  }

  /** A copied output names its derivation: by the outputs map, else by name. */
  private claimCopyOut(id: number, path: string): void {
    const r = this.roles.get(id);
    if (r?.role !== "copy-out" || r.drv !== null) return;
    const drv =
      this.options.outputs?.get(path) ??
      this.runningOn(r.machine).find((d) => {
        const out = storeName(path);
        return out === d.name || out.startsWith(`${d.name}-`);
      })?.drv;
    const d = drv ? this.drvs.get(drv) : undefined;
    if (d?.outcome !== "running") return;
    r.drv = d.drv;
    d.activity = "copying outputs";
  }

  private runningOn(machine: string): DrvState[] {
    const name = this.builderName(machine);
    return [...this.drvs.values()].filter((d) => d.outcome === "running" && d.builder === name);
  }

  private oldestRunningOn(machine: string, accept: (d: DrvState) => boolean): DrvState | undefined {
    return this.runningOn(machine)
      .filter(accept)
      .sort((a, b) => a.startedMs - b.startedMs)[0];
  }

  private stop(id: number, now: number): Change[] {
    const r = this.roles.get(id);
    if (!r) return [];
    this.roles.delete(id);
    switch (r.role) {
      case "build": {
        const d = this.drvs.get(r.drv);
        if (d?.outcome !== "running") return [];
        d.endedMs = now;
        if (this.interrupted || this.failureSeen) {
          d.outcome = "stopped";
          d.reason = this.interrupted ? "interrupted" : "stopped by Nix after a failure";
          return [this.abandonedChange(d, now)];
        }
        // A remote build has ended when its outputs are back (copy-out). One whose activity stops
        // first either had nothing to copy or was given up (an interrupt Nix reports only after the
        // stops): not running any more, settled by Nix's exit code in finish()
        // (docs/internal-json.md#abandoned).
        if (r.remote) {
          d.outcome = "stopped";
          return [];
        }
        d.outcome = "built";
        return [{ kind: "built", at: now, build: d }];
      }
      case "waiting":
        this.waiting.delete(r.drv);
        return [];
      case "copy-in": {
        const d = r.drv ? this.drvs.get(r.drv) : undefined;
        if (d?.outcome === "running") {
          d.copyInMs += now - r.startedMs;
          d.activity = "building";
        }
        return [];
      }
      case "copy-out": {
        const d = r.drv ? this.drvs.get(r.drv) : undefined;
        if (d?.outcome !== "running") return [];
        d.copyOutMs = now - r.startedMs;
        d.endedMs = now;
        d.outcome = "built";
        d.activity = "built";
        return [{ kind: "built", at: now, build: d }];
      }
      case "substitute": {
        const fetch = this.fetches.get(r.path);
        if (!fetch || fetch.endedMs !== null) return [];
        fetch.endedMs = now;
        return [{ kind: "fetched", at: now, fetch }];
      }
      default:
        return [];
    }
  }

  private result(e: Extract<NixEvent, { action: "result" }>, now: number): Change[] {
    const r = this.roles.get(e.id);
    if (!r) return [];
    switch (e.type) {
      case Res.buildLogLine:
      case Res.postBuildLogLine: {
        const drv = r.role === "build" || r.role === "echo" ? r.drv : null;
        const d = drv ? this.drvs.get(drv) : undefined;
        if (!d) return [];
        return [
          { kind: "log", at: now, drv: d.drv, name: d.name, builder: d.builder, line: String(e.fields[0] ?? "") },
        ];
      }
      case Res.setPhase: {
        const drv = r.role === "build" || r.role === "echo" ? r.drv : null;
        const d = drv ? this.drvs.get(drv) : undefined;
        if (d?.outcome === "running" && d.activity === "building") d.activity = String(e.fields[0] ?? "building");
        return [];
      }
      case Res.progress: {
        const done = Number(e.fields[0] ?? 0);
        const expected = Number(e.fields[1] ?? 0);
        if (r.role === "builds" && e.id === this.topBuilds) {
          this.buildsProgress = { done, expected, failed: Number(e.fields[3] ?? 0) };
        } else if (r.role === "copy-path") this.copyProgress(r, Math.max(done, 0), Math.max(expected, 0));
        else if (r.role === "transfer") {
          const fetch = [...this.fetches.values()].find((x) => x.endedMs === null && r.url.startsWith(x.from));
          if (fetch) fetch.bytes += Math.max(0, done - r.done);
          r.done = done;
        }
        return [];
      }
      case Res.setExpected:
        if (e.id === this.topRealise && Number(e.fields[0]) === Act.fileTransfer) {
          this.expectedDownload = Math.max(0, Number(e.fields[1] ?? 0));
        }
        return [];
      default:
        return [];
    }
  }

  /**
   * Bytes fetched from caches: the sum of what each fetch reported, or, when Nix reported no
   * per-path progress (a small or file:// fetch), the download size it announced for them all.
   */
  get fetchedBytes(): number {
    const sum = [...this.fetches.values()].reduce((s, f) => s + f.bytes, 0);
    return sum > 0 ? sum : this.fetches.size ? this.expectedDownload : 0;
  }

  private copyProgress(r: Extract<Role, { role: "copy-path" }>, done: number, expected: number): void {
    const bytes = Math.max(done, expected);
    const fetch = this.fetches.get(r.path);
    if (fetch && fetch.endedMs === null && r.dst === "local" && fetch.from === r.src) {
      fetch.bytes = Math.max(fetch.bytes, bytes);
      return;
    }
    if (r.owner !== null) {
      const owner = this.roles.get(r.owner);
      const d = owner?.role === "copy-out" && owner.drv ? this.drvs.get(owner.drv) : undefined;
      if (d) d.bytesOut = Math.max(d.bytesOut, bytes);
    }
  }

  private message(level: number, text: string, now: number): Change[] {
    if (level <= 1) this.messages.push(text);
    const failedOn = /^error: build of '([^']+)' on '([^']+)' failed/.exec(text);
    const failedLocal = /^error: builder for '([^']+)' failed/.exec(text);
    const depFailed = /^error: (\d+) dependencies of derivation '([^']+)' failed to build/.exec(text);
    const changes: Change[] = [];
    if (failedOn || failedLocal) {
      this.failureSeen = true;
      const drv = (failedOn?.[1] ?? failedLocal?.[1])!;
      const d = this.drvs.get(drv);
      if (d && (d.outcome === "running" || d.outcome === "stopped")) {
        d.outcome = "failed";
        d.endedMs ??= now;
        d.activity = "failed";
        changes.push({ kind: "failed", at: now, build: d });
      }
    } else if (depFailed) {
      const drv = depFailed[2]!;
      if (!this.drvs.has(drv) && !this.never.has(drv)) {
        const reason = `${depFailed[1]} ${depFailed[1] === "1" ? "dependency" : "dependencies"} failed`;
        this.never.set(drv, reason);
        changes.push({ kind: "abandoned", at: now, drv, name: storeName(drv), builder: null, reason });
      }
    } else if (/^error: interrupted by the user/.test(text)) this.interrupted = true;
    // Nix repeats a remote failure as "builder for … failed" from the builder; one message is enough.
    if (failedLocal && changes.length === 0 && this.drvs.get(failedLocal[1]!)?.outcome === "failed") return [];
    changes.push({ kind: "message", at: now, level, text });
    return changes;
  }

  /** The picture at `now`: per builder, local work, the queue, and totals. */
  view(nowMs: number): BuildView {
    const running = [...this.drvs.values()].filter((d) => d.outcome === "running");
    const item = (d: DrvState) => ({ name: d.name, elapsedMs: nowMs - d.startedMs, activity: d.activity });
    const builders: BuilderLine[] = this.options.machines.map((m) => {
      const mine = running.filter((d) => d.builder === m.name);
      return { name: m.name, busy: mine.length, max: m.maxJobs, builds: mine.map(item) };
    });
    // Builds on a machine Nix names but crossnix does not know (a --builders override) still show.
    for (const d of running) {
      if (d.builder === "local" || builders.some((b) => b.name === d.builder)) continue;
      builders.push({ name: d.builder, busy: 0, max: 0, builds: [] });
    }
    for (const b of builders.filter((x) => x.max === 0)) {
      const mine = running.filter((d) => d.builder === b.name);
      b.busy = mine.length;
      b.builds = mine.map(item);
    }
    const fetching = new Map<string, { count: number; bytes: number; since: number }>();
    for (const f of this.fetches.values()) {
      if (f.endedMs !== null) continue;
      const label = cacheLabel(f.from);
      const g = fetching.get(label) ?? { count: 0, bytes: 0, since: f.startedMs };
      g.count += 1;
      g.bytes += f.bytes;
      g.since = Math.min(g.since, f.startedMs);
      fetching.set(label, g);
    }
    const all = [...this.drvs.values()];
    const built = all.filter((d) => d.outcome === "built").length;
    const failed = all.filter((d) => d.outcome === "failed").length;
    const done = [...this.fetches.values()].filter((f) => f.endedMs !== null);
    return {
      builders,
      local: running.filter((d) => d.builder === "local").map(item),
      queue: {
        waiting: this.waiting.size,
        fetching: [...fetching].map(([from, g]) => ({
          from,
          count: g.count,
          bytesPerSecond: nowMs - g.since >= 500 && g.bytes > 0 ? (g.bytes * 1000) / (nowMs - g.since) : null,
        })),
      },
      totals: {
        built,
        failed,
        fetched: done.length,
        fetchedBytes: done.length ? this.fetchedBytes : 0,
        toGo: this.toGo(),
        elapsedMs: this.firstMs === null ? 0 : nowMs - this.firstMs,
        etaMs: this.eta(nowMs),
      },
    };
  }

  /** Derivations and paths not yet done: from the plan when known, else from Nix's own build progress. */
  private toGo(): number {
    const plan = this.options.planned;
    if (plan) {
      const ended = (drv: string) => {
        const d = this.drvs.get(drv);
        return (d !== undefined && d.outcome !== "running") || this.never.has(drv);
      };
      const builds = plan.toBuild.filter((drv) => !ended(drv)).length;
      const fetches = plan.toFetch.filter((p) => this.fetches.get(p)?.endedMs == null).length;
      return builds + fetches;
    }
    const p = this.buildsProgress;
    return p ? Math.max(0, p.expected - p.done - p.failed) : 0;
  }

  /**
   * Time left: what history predicts for each build still to do (minus what a running one has
   * already spent), spread over the fleet's free slots. Null without any prediction.
   */
  private eta(nowMs: number): number | null {
    const predict = this.options.predict;
    const plan = this.options.planned;
    if (!predict || !plan) return null;
    let remaining = 0;
    let known = false;
    for (const drv of plan.toBuild) {
      const d = this.drvs.get(drv);
      if (this.never.has(drv) || (d && d.outcome !== "running")) continue;
      const ms = predict(storeName(drv), d?.builder ?? null);
      if (ms === null) continue;
      known = true;
      remaining += d ? Math.max(0, ms - (nowMs - d.startedMs)) : ms;
    }
    if (!known) return null;
    const slots = Math.max(
      1,
      this.options.machines.reduce((s, m) => s + m.maxJobs, 0),
    );
    const open = plan.toBuild.filter((drv) => !this.never.has(drv) && this.drvs.get(drv)?.outcome !== "built").length;
    return remaining / Math.max(1, Math.min(slots, open));
  }
}

/** Split of a finished build's time: copying inputs, building (the rest), copying outputs back. */
export function timingSplit(d: DrvState): { totalMs: number; copyInMs: number; buildMs: number; copyOutMs: number } {
  const totalMs = (d.endedMs ?? d.startedMs) - d.startedMs;
  return {
    totalMs,
    copyInMs: d.copyInMs,
    buildMs: Math.max(0, totalMs - d.copyInMs - d.copyOutMs),
    copyOutMs: d.copyOutMs,
  };
}
