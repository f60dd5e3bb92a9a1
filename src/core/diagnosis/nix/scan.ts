// The scan: four passes over Nix's output (Nix's connection lines, multi-line messages, single
// lines, then ssh's stray lines), each claiming the lines it explains.
// One file because the passes share the claimed-lines bookkeeping and their order is the contract:
// a line a later pass sees is one no earlier pass could explain.
import { classifySshFailure } from "../ssh.js";
import { analyseMachines, type MachineRow, parseRow } from "./failed-to-find.js";
import {
  bodyOf,
  type Line,
  NIX_LINE,
  SSH_SIDE,
  toLines,
  drvBase,
  hostOf,
  list,
  schemeOf,
  uniqueLines,
} from "./lines.js";
import { finish, TIER } from "./merge.js";
import { type RemoteRefusalCause, remoteRefusal } from "./remote-refusals.js";
import {
  BAD_MACHINE,
  BAD_MACHINE_OLD,
  BUILDER_CONTEXT,
  BUILDER_FOR,
  BUILDING_ON,
  BUILD_OF_ON,
  CANNOT_BUILD,
  CANNOT_BUILD_ON,
  CANNOT_BUILD_PART,
  CANNOT_CONNECT_HOST,
  CLIENT_IGNORED,
  CMD_NOT_FOUND,
  DISK_FULL,
  EOF_ANY,
  EOF_LINE,
  EXTRA_BUILDERS,
  FAILED_START_SSH,
  FAILED_TO_FIND,
  I_AM_A,
  MACHINE_TRACE,
  OPEN_REMOTE_STORE,
  PROTO_NG,
  PROTO_SERVE,
  PROTO_SERVE_OLD,
  SERIALISED_INT,
  SPEED_FACTOR,
  SSH_MISSING,
  STOULL,
  UNABLE_OPEN_SSH,
  UNABLE_START,
} from "./patterns.js";
import {
  buildFailed,
  builderWord,
  connectionClosed,
  connectionWording,
  daemonDown,
  destWord,
  diskFull,
  localReject,
  protocolNoise,
  remoteProgram,
  sshExplained,
  sshMissing,
} from "./explain.js";
import type { Explained, Hit, NixDiagnosis, Where } from "./types.js";

export class Scan {
  readonly lines: Line[];
  readonly claimed = new Set<number>();
  readonly hits: Hit[] = [];
  /** drv basename → builder, from "building '…' on '…'" and "build of '…' on '…'". */
  readonly drvBuilder = new Map<string, string>();
  readonly builders: string[] = [];

  constructor(stderr: string) {
    this.lines = toLines(stderr);
    for (const l of this.lines) {
      const on = BUILDING_ON.exec(l.body) ?? BUILD_OF_ON.exec(l.body);
      if (on) this.drvBuilder.set(drvBase(on[1]), on[2]!);
      const b = BUILDER_CONTEXT.exec(l.body)?.[1];
      if (b && !this.builders.includes(b)) this.builders.push(b);
    }
  }

  add(at: number, e: Explained, evidence: string[], extra: Partial<Hit> = {}): Hit {
    const hit: Hit = {
      cause: e.cause,
      summary: e.summary,
      fix: e.fix,
      evidence: "",
      at,
      detail: e.detail ?? 1,
      lines: uniqueLines(evidence),
      ...(e.nixVersions ? { nixVersions: e.nixVersions } : {}),
      ...extra,
    };
    this.hits.push(hit);
    return hit;
  }

  isForeign(i: number): boolean {
    const l = this.lines[i]!;
    if (l.text === "") return false;
    if (SSH_SIDE.some((r) => r.test(l.body))) return true;
    if (l.log) return false;
    return !NIX_LINE.some((r) => r.test(l.text));
  }

  /** Claim the run of foreign lines next to line i (blank lines are skipped, not claimed). */
  claimRun(i: number, direction: -1 | 1): number[] {
    const run: number[] = [];
    for (let j = i + direction; j >= 0 && j < this.lines.length; j += direction) {
      if (this.claimed.has(j)) break;
      if (this.lines[j]!.text === "") continue;
      if (!this.isForeign(j)) break;
      run.push(j);
    }
    for (const j of run) this.claimed.add(j);
    return direction === -1 ? run.reverse() : run;
  }

  /** The builder a line is about: nearest preceding builder context, else the only one named. */
  inferBuilder(at: number): string | undefined {
    for (let j = at; j >= 0; j--) {
      const b = BUILDER_CONTEXT.exec(this.lines[j]!.body)?.[1];
      if (b) return b;
    }
    return this.builders.length === 1 ? this.builders[0] : undefined;
  }

  run(): NixDiagnosis[] {
    this.anchors();
    this.blocks();
    this.singles();
    this.loose();
    return finish(this.hits);
  }

  /**
   * ssh's or the remote's lines away from Nix's own line, e.g. the daemon's log pasted after the
   * client's output (ssh-ng sends them there). Used only to explain a builder that failed without
   * a stated reason: elsewhere such lines may just be a build's output (nix-build prints logs raw).
   */
  loose(): void {
    const generic = this.hits.filter(
      (h) => (h.cause === "ssh-connect-failed" || h.cause === "remote-connection-closed") && h.builder,
    );
    if (generic.length === 0) return;
    const hosts = new Set(generic.map((h) => hostOf(h.builder!)));
    const builder = hosts.size === 1 ? generic[0]!.builder : undefined;
    const w: Where = { ...(builder ? { builder, scheme: schemeOf(builder) } : {}) };
    const extra = builder ? { builder } : {};
    let run: number[] = [];
    const flush = () => {
      if (run.length === 0) return;
      const texts = run.map((j) => this.lines[j]!.text);
      const at = run[0]!;
      run = [];
      const disk = texts.find((t) => DISK_FULL.test(t));
      if (disk) {
        this.add(at, diskFull(w), [disk], extra);
        return;
      }
      const ssh = classifySshFailure(texts.join("\n"), { host: builder ? hostOf(builder) : "" });
      if (ssh.cause !== "unknown") this.add(at, sshExplained(ssh, undefined), [ssh.evidence], extra);
    };
    for (let j = 0; j < this.lines.length; j++) {
      if (this.lines[j]!.text === "") continue;
      if (!this.claimed.has(j) && (this.isForeign(j) || DISK_FULL.test(this.lines[j]!.body))) run.push(j);
      else flush();
    }
    flush();
  }

  // --- connection failures named by Nix ------------------------------------------------------

  anchors(): void {
    for (let i = 0; i < this.lines.length; i++) {
      const l = this.lines[i]!;
      if (this.claimed.has(i) || l.log) continue;
      const b = l.body;
      let m = CANNOT_BUILD_ON.exec(b) ?? UNABLE_OPEN_SSH.exec(b);
      if (m) {
        const uri = m[1]!;
        const scheme = schemeOf(uri);
        this.claimed.add(i);
        // ssh:// appends ssh's stderr (log-fd=4); ssh-ng's came before (single-user Nix only).
        const around = this.claimRun(i, scheme === "ssh" ? 1 : -1);
        const v = UNABLE_OPEN_SSH.test(b) && !CANNOT_BUILD_ON.test(b) ? "2.0" : undefined;
        this.connection(i, { builder: uri, scheme }, [m[2]!, ...around.map((j) => this.lines[j]!.text)], l.text, v);
        continue;
      }
      m = BUILD_OF_ON.exec(b);
      if (m) {
        this.claimed.add(i);
        this.buildOf(i, m[1]!, m[2]!, m[3]!);
        continue;
      }
      // 'daemon' / 'unix://…' is the local daemon: not a builder.
      const store = OPEN_REMOTE_STORE.exec(b);
      m =
        (store && /^ssh(?:-ng)?:\/\//.test(store[1]!) ? store : null) ??
        FAILED_START_SSH.exec(b) ??
        CANNOT_CONNECT_HOST.exec(b);
      const eof = EOF_LINE.test(b);
      if (m || eof) {
        const builder = m?.[1] ?? this.inferBuilder(i);
        // A bare EOF with no builder in sight is the local daemon's business: not ours.
        if (!builder) continue;
        this.claimed.add(i);
        const around = this.claimRun(i, -1);
        const w: Where = { builder, ...(builder.includes("://") ? { scheme: schemeOf(builder) } : {}) };
        this.connection(i, w, [b, ...around.map((j) => this.lines[j]!.text)], l.text);
      }
    }
  }

  /** Decide a connection failure from Nix's error and the ssh/remote lines that came with it. */
  connection(at: number, w: Where, texts: string[], anchor: string, version?: string): void {
    const all = texts.join("\n");
    const lines = all.split("\n").map((t) => t.trim());
    const find = (r: RegExp) => lines.find((t) => r.test(t));
    const ev = (line: string | undefined) => [anchor, ...(line && !anchor.includes(line) ? [line] : [])];
    const wording = version ?? connectionWording(all);
    const extra = { builder: w.builder! };

    let line = find(SSH_MISSING);
    if (line) {
      this.add(at, sshMissing(w, line.replace(/^.*?(unable to execute)/, "$1")), ev(line), extra);
      return;
    }
    // A refused connection to the builder's daemon socket says more than the shell noise around it.
    const refused = (causes: RemoteRefusalCause[]) => {
      const refusalLine = lines.find((t) => remoteRefusal(t, causes));
      if (refusalLine === undefined) return false;
      this.add(at, remoteRefusal(refusalLine, causes)!.explain(w), ev(refusalLine), extra);
      return true;
    };
    if (refused(["remote-daemon-down"])) return;
    line = find(CMD_NOT_FOUND);
    if (line) {
      const notFound = CMD_NOT_FOUND.exec(line)!;
      this.add(
        at,
        {
          ...remoteProgram(w, notFound[1] ?? notFound[2] ?? notFound[3], line),
          ...(wording ? { nixVersions: wording } : {}),
        },
        ev(line),
        extra,
      );
      return;
    }
    const proto = this.protocol(all);
    if (proto) {
      this.add(at, protocolNoise(w, proto.got, proto.versions), ev(proto.line), extra);
      return;
    }
    if (refused(["remote-untrusted", "signature-missing"])) return;
    line = find(DISK_FULL);
    if (line) {
      this.add(at, diskFull(w), ev(line), extra);
      return;
    }
    const host = w.builder ? hostOf(w.builder) : "";
    const ssh = classifySshFailure(all, { host });
    if (ssh.cause !== "unknown") {
      // ssh's reason under Nix's EOF wording: what an ssh failure looked like before 2.15.
      const sshWording =
        version ?? (FAILED_START_SSH.test(all) ? "2.15+" : "≤2.14 (2.15+ says 'failed to start SSH connection')");
      this.add(at, sshExplained(ssh, sshWording), ev(ssh.evidence), extra);
      return;
    }
    const rest = texts.slice(1).filter((t) => t.trim());
    if (FAILED_START_SSH.test(all)) {
      this.add(
        at,
        {
          cause: "ssh-connect-failed",
          summary: `ssh to ${builderWord(w)} failed before Nix could start, and ssh's own error is not in this output`,
          fix:
            `ssh's message is in the Nix daemon's log (the daemon runs ssh, as root); reproduce it with 'sudo ssh ${destWord(w)}' ` +
            "(root's keys, known_hosts and ssh_config apply, not yours), or run 'crossnix builder probe'",
          nixVersions: "2.15+",
        },
        [anchor, ...rest],
        extra,
      );
      return;
    }
    if (EOF_ANY.test(all) || CANNOT_CONNECT_HOST.test(all) || OPEN_REMOTE_STORE.test(all) || /Broken pipe/.test(all)) {
      this.add(at, connectionClosed(w, all, wording), [anchor, ...rest], extra);
      return;
    }
    this.add(
      at,
      {
        cause: "unknown",
        summary: `Nix could not use ${builderWord(w)}, for a reason crossnix does not recognise`,
        fix: "run 'crossnix builder probe' to connect to it as the Nix daemon does",
        ...(wording ? { nixVersions: wording } : {}),
      },
      [anchor, ...rest],
      extra,
    );
  }

  protocol(all: string): { line: string; got?: string; versions: string } | undefined {
    const lines = all.split("\n").map((t) => t.trim());
    for (const t of lines) {
      let m = PROTO_SERVE.exec(t);
      if (m) return { line: t, ...(m[2] !== undefined ? { got: m[2] } : {}), versions: "2.4+" };
      m = PROTO_NG.exec(t);
      if (m) return { line: t, got: m[1]!, versions: "2.4+" };
      if (PROTO_SERVE_OLD.test(t)) return { line: t, versions: "≤2.3" };
      if (SERIALISED_INT.test(t)) return { line: t, versions: "≤2.3 (2.4+ says 'protocol mismatch, got …')" };
    }
    return undefined;
  }

  /** `build of '<drv>' on '<uri>' failed: <what the builder reported>`. */
  buildOf(at: number, drv: string, uri: string, inner: string): void {
    const w: Where = { builder: uri, scheme: schemeOf(uri) };
    const text = this.lines[at]!.text;
    const innerBody = bodyOf(inner);
    const builderFor = BUILDER_FOR.exec(innerBody);
    if (builderFor) {
      this.builderFailed(at, builderFor, text);
      return;
    }
    if (CANNOT_BUILD.test(innerBody)) {
      this.cannotBuild(at, innerBody, text);
      return;
    }
    const refusal = remoteRefusal(innerBody);
    if (refusal) {
      this.add(at, refusal.explain(w), [text], { builder: uri, drv });
      return;
    }
    this.add(
      at,
      {
        cause: "unknown",
        summary: `building on ${builderWord(w)} failed: ${innerBody}`,
        fix: "read the message above; 'nix log' shows the build log if the build itself ran",
        nixVersions: "all",
      },
      [text],
      { builder: uri, drv },
    );
  }

  // --- multi-line messages -------------------------------------------------------------------

  blocks(): void {
    for (let i = 0; i < this.lines.length; i++) {
      const l = this.lines[i]!;
      if (this.claimed.has(i) || l.log) continue;
      const b = l.body;
      const builderFor = BUILDER_FOR.exec(b);
      const iAmA = I_AM_A.exec(b);
      const unableToStart = UNABLE_START.exec(b);
      if (FAILED_TO_FIND.test(b)) this.failedToFind(i);
      else if (CANNOT_BUILD.test(b)) this.cannotBuild(i, b, l.text);
      else if (builderFor) this.builderFailed(i, builderFor, l.text);
      else if (iAmA) {
        this.claimed.add(i);
        const features = list(iAmA[2]!);
        this.add(i, localReject(iAmA[1]!, features, iAmA[4]!, "≤2.29 (Determinate < 3.6.1)"), [l.text], {
          system: iAmA[1]!,
          features,
          drv: iAmA[3]!,
        });
      } else if (unableToStart) this.unableToStart(i, unableToStart);
    }
  }

  /** The hook's list, printed when no machine took a derivation that cannot be built here (2.4+). */
  failedToFind(i: number): void {
    const ev = [this.lines[i]!.text];
    this.claimed.add(i);
    let drv: string | undefined;
    let system: string | undefined;
    let features: string[] = [];
    let count: number | undefined;
    let bracketed = false;
    const rows: MachineRow[] = [];
    for (let j = i + 1; j < this.lines.length; j++) {
      const t = this.lines[j]!.text;
      if (t === "") break;
      const d = /^derivation: (\S+)$/.exec(t);
      const req = /^required \(system, features\): \((.*)\)$/.exec(t);
      const n = /^(\d+) available machines:$/.exec(t);
      const row = /^\((.*)\)$/.exec(t);
      if (d) drv = d[1]!;
      else if (req) {
        // 2.12+ "(sys, [a, b])"; 2.4–2.11 "(sys, a, b)"
        const nu = /^([^,]+),\s*\[(.*)\]$/.exec(req[1]!);
        bracketed = nu !== null;
        const parts = req[1]!.split(",").map((x) => x.trim());
        system = nu ? nu[1]!.trim() : parts[0];
        features = nu ? list(nu[2]!) : parts.slice(1).filter(Boolean);
      } else if (n) count = Number(n[1]);
      else if (/^\(systems, maxjobs/.test(t)) {
        // the header
      } else if (row) {
        const parsed = parseRow(row[1]!);
        if (!parsed) break;
        rows.push(parsed);
      } else break;
      ev.push(t);
      this.claimed.add(j);
    }
    const failedBefore =
      this.hits.some((h) => h.at < i && h.builder !== undefined && TIER[h.cause] <= 1) ||
      this.lines.slice(0, i).some((l) => SSH_MISSING.test(l.body) || CANNOT_BUILD_ON.test(l.body));
    const e = analyseMachines(system ?? "?", features, rows, count ?? rows.length, failedBefore);
    e.nixVersions = bracketed ? "2.12+" : "2.4–2.11";
    this.add(i, e, ev, {
      ...(system ? { system } : {}),
      features,
      ...(drv ? { drv } : {}),
    });
  }

  /** "Cannot build '<drv>'." and its Reason/Required/… lines (2.29+). */
  cannotBuild(i: number, first: string, firstText: string): void {
    const drv = CANNOT_BUILD.exec(first)![1]!;
    const part: string[] = [];
    const ev = [firstText];
    this.claimed.add(i);
    let j = i + 1;
    for (; j < this.lines.length; j++) {
      const t = this.lines[j]!.text;
      if (t === "" || !CANNOT_BUILD_PART.test(t)) break;
      part.push(t);
      this.claimed.add(j);
    }
    const reasons = part.filter((t) => t.startsWith("Reason: ")).map((t) => t.slice(8).trim());
    const get = (r: RegExp) => {
      for (const t of part) {
        const m = r.exec(t);
        if (m) return m;
      }
      return null;
    };
    const reasonLines = part.filter((t) => /^(?:Reason|Required|Current system|Available features)/.test(t));
    const builderReason = reasons
      .map((r) => /^builder (failed with exit code (\d+)|failed due to signal .*?|died abnormally)\.?$/.exec(r))
      .find(Boolean);
    if (builderReason) {
      const logTail = logTailOf(part);
      const builder = this.drvBuilder.get(drvBase(drv));
      if (this.hookFailure(i, logTail, drv, builder, firstText)) return;
      this.add(
        i,
        buildFailed(builder, builderReason[1]!, "2.29+ (Determinate 3.5+)", logTail),
        [...ev, `Reason: ${reasons[0]}`, ...logTail.map((x) => `> ${x}`)],
        {
          drv,
          ...(builder ? { builder } : {}),
          ...(builderReason[2] ? { exitCode: Number(builderReason[2]) } : {}),
          ...(logTail.length ? { logTail } : {}),
        },
      );
      return;
    }
    const old = reasons.includes("required system or feature not available");
    const mismatch = reasons.includes("platform mismatch");
    const missing = reasons.includes("missing system features");
    const maxJobs = reasons.some((r) => r.startsWith("local builds are disabled"));
    if (old || mismatch || missing) {
      const req = get(/^Required system: '([^']+)'(?: with features \{([^}]*)\})?$/);
      const cur = get(/^Current system: '([^']+)'(?: with features \{([^}]*)\})?$/);
      const reqFeat = get(/^Required features: \{([^}]*)\}$/);
      const system = req?.[1];
      const features = list(req?.[2] ?? reqFeat?.[1] ?? "");
      const versions = old ? "2.30–2.33 (Determinate 3.6.1–3.18)" : "2.34+ (Determinate 3.19+)";
      const e = localReject(system ?? "?", features, cur?.[1] ?? "this machine", versions, maxJobs);
      this.add(i, e, [...ev, ...reasonLines], {
        drv,
        ...(system ? { system } : {}),
        features,
      });
      return;
    }
    if (maxJobs) {
      this.add(
        i,
        {
          cause: "local-builds-disabled",
          summary: "no remote builder took this build and local builds are disabled (max-jobs = 0)",
          fix: "see why the builders were not used (the findings above, 'crossnix builder probe', 'crossnix doctor'), or allow local builds with max-jobs > 0",
          nixVersions: "2.34+ (Determinate 3.19+)",
          detail: 2,
        },
        [...ev, ...reasonLines],
        { drv },
      );
    }
    // "N dependencies failed": a consequence, reported by the failing dependency's own message.
  }

  /**
   * A failure after the hook accepted the build can reach the output only as the log tail of the
   * hook's "builder failed with exit code 1": report that cause instead of a build failure.
   */
  hookFailure(at: number, tail: string[], drv: string, builder: string | undefined, text: string): boolean {
    for (const raw of tail) {
      const t = bodyOf(raw.trim());
      const w: Where = { ...(builder ? { builder, scheme: schemeOf(builder) } : {}) };
      const extra = { drv, ...(builder ? { builder } : {}) };
      const refusal = remoteRefusal(t);
      if (!refusal) continue;
      this.add(at, refusal.explain(w), [text, `> ${raw}`], extra);
      return true;
    }
    return false;
  }

  /** ≤2.28 "builder for '<drv>' failed with exit code N" and its log tail. */
  builderFailed(i: number, m: RegExpExecArray, text: string): void {
    const drv = m[1]!;
    this.claimed.add(i);
    const tail: string[] = [];
    if (m[4]) {
      // 2.3: "; last N log lines:" then N lines indented by two spaces.
      const n = Number(m[4]);
      for (let j = i + 1; j < this.lines.length && tail.length < n; j++) {
        tail.push(this.lines[j]!.text);
        this.claimed.add(j);
      }
    } else {
      let j = i + 1;
      while (j < this.lines.length && this.lines[j]!.text === "") j++;
      if (j < this.lines.length && /^last \d+ log lines:$/.test(this.lines[j]!.text)) {
        this.claimed.add(j);
        for (j++; j < this.lines.length; j++) {
          const t = this.lines[j]!.text;
          if (!t.startsWith(">")) {
            if (/^For full logs/.test(t)) this.claimed.add(j);
            break;
          }
          tail.push(t.replace(/^> ?/, ""));
          this.claimed.add(j);
        }
      }
    }
    const builder = BUILD_OF_ON.exec(this.lines[i]!.body)?.[2] ?? this.drvBuilder.get(drvBase(drv));
    if (this.hookFailure(i, tail, drv, builder, text)) return;
    this.add(i, buildFailed(builder, m[2]!, "≤2.28 (Determinate < 3.5)", tail), [text, ...tail.map((x) => `> ${x}`)], {
      drv,
      ...(builder ? { builder } : {}),
      ...(m[3] ? { exitCode: Number(m[3]) } : {}),
      ...(tail.length ? { logTail: tail } : {}),
    });
  }

  unableToStart(i: number, m: RegExpExecArray): void {
    const ev = [this.lines[i]!.text];
    this.claimed.add(i);
    let rest = m[2]!.trim();
    let versions: string;
    if (rest === "") {
      // 2.21–2.29: the reason is on the next line (an indented raw string).
      for (let j = i + 1; j < this.lines.length; j++) {
        if (this.lines[j]!.text === "") continue;
        rest = this.lines[j]!.text;
        ev.push(rest);
        this.claimed.add(j);
        break;
      }
      versions = "2.21–2.29";
    } else if (m[1] === "U") versions = "2.30+";
    else versions = /\.$/.test(rest) || /remote machines/.test(rest) ? "2.4–2.20" : "≤2.3";
    if (/^either increase/.test(rest)) {
      this.add(
        i,
        {
          cause: "local-builds-disabled",
          summary: "max-jobs is 0 (no local builds) and the Nix daemon sees no remote builders at all",
          fix:
            "register a builder ('crossnix builder add <destination>'), or find out why the daemon sees none ('crossnix doctor --fix': builders must be set where the daemon reads it, " +
            "the machines file must exist — a missing one is skipped silently —, the daemon must be restarted after edits, and an untrusted user's --builders is ignored); or allow local builds with max-jobs > 0",
          nixVersions: versions,
          detail: 3,
        },
        ev,
      );
    } else if (/^remote machines may not/.test(rest)) {
      this.add(
        i,
        {
          cause: "no-suitable-machine",
          summary:
            "max-jobs is 0 and no configured builder supports the system and features a derivation needs (or those that do were disabled after failing to connect)",
          fix: "compare the builders' systems and features ('crossnix builder list') with what the derivation requires, and fix any connection error above ('crossnix builder probe')",
          nixVersions: versions,
        },
        ev,
      );
    }
  }

  // --- single lines --------------------------------------------------------------------------

  singles(): void {
    for (let i = 0; i < this.lines.length; i++) {
      const l = this.lines[i]!;
      if (!this.claimed.has(i)) this.single(i, l);
    }
  }

  single(i: number, l: Line): void {
    const b = l.content;
    const t = l.text;
    const where = (): Where => {
      const builder = this.inferBuilder(i);
      return { ...(builder ? { builder } : {}), ...(builder?.includes("://") ? { scheme: schemeOf(builder) } : {}) };
    };
    const at = (w: Where) => (w.builder ? { builder: w.builder } : {});
    // Some refusals reach the output inside a log tail (the hook's own error): there log lines count.
    const refusal = remoteRefusal(b);
    if (refusal && (refusal.inBuildLog || !l.log)) {
      const w = where();
      // A refused daemon socket with no builder in sight may be this machine's own daemon.
      if (refusal.cause === "remote-daemon-down" && !w.builder) this.add(i, daemonDown(refusal.versions), [t]);
      else this.add(i, refusal.explain(w), [t], at(w));
      return;
    }
    if (l.log) return;
    if (SSH_MISSING.test(b)) {
      const w = where();
      this.add(i, sshMissing(w, b), [t], at(w));
      return;
    }
    const notFound = CMD_NOT_FOUND.exec(b);
    if (notFound) {
      const w = where();
      this.add(i, remoteProgram(w, notFound[1] ?? notFound[2] ?? notFound[3], b), [t], at(w));
      return;
    }
    const proto = this.protocol(b);
    if (proto) {
      const from = PROTO_SERVE.exec(b)?.[1] ?? PROTO_SERVE_OLD.exec(b)?.[1];
      const w = from ? { builder: from } : where();
      this.add(i, protocolNoise(w, proto.got, proto.versions), [t], at(w));
      return;
    }
    if (CLIENT_IGNORED.test(b)) {
      const old = /user-specified/.test(b);
      this.add(
        i,
        {
          cause: "client-builders-ignored",
          summary:
            "the Nix daemon ignored your 'builders' (from --builders, ~/.config/nix/nix.conf or NIX_CONFIG) because your user is not in its trusted-users",
          fix:
            "configure builders system-wide instead, where the daemon reads them (/etc/nix/machines and the daemon's nix.conf: what 'crossnix builder add' writes), " +
            "or add your user to trusted-users (root-equivalent) and restart the daemon",
          nixVersions: old ? "≤2.3 ('user-specified'); 2.4–2.21 print nothing" : "2.22+ (2.4–2.21 ignore it silently)",
        },
        [t],
      );
      return;
    }
    if (EXTRA_BUILDERS.test(b)) {
      this.add(
        i,
        {
          cause: "extra-builders-unknown",
          summary:
            "nix.conf sets 'extra-builders', which Nix ignores: 'builders' is a plain string and cannot be appended to, so those builders are not used",
          fix: "put every builder in the one 'builders' line (e.g. builders = @/etc/nix/machines) and the machines in /etc/nix/machines; 'crossnix doctor --fix' rewrites it",
          nixVersions: "all",
        },
        [t],
      );
      return;
    }
    this.machines(i, b, t);
  }

  machines(i: number, b: string, t: string): void {
    let detail: string | undefined;
    let row: string | undefined;
    let versions = "2.5+";
    const ev = [t];
    const bad = BAD_MACHINE.exec(b);
    const old = BAD_MACHINE_OLD.exec(b);
    const trace = MACHINE_TRACE.exec(b);
    if (bad) {
      detail = bad[1]!;
      row = /in a row: '(.*?)'(?: to '[^']+'| is not valid base64.*)?$|of a row: '(.*)'$/
        .exec(detail)
        ?.slice(1)
        .find(Boolean);
      if (/to 'float'/.test(detail)) versions = "2.20+";
      else if (/base64/.test(detail)) versions = "2.5–2.24";
    } else if (old) {
      detail = `unreadable row '${old[1]}'`;
      row = old[1];
      versions = "≤2.4";
    } else if (trace) {
      row = trace[2]!;
      const next = this.lines.slice(i + 1, i + 4).find((l) => /Base64/.test(l.text));
      if (next) ev.push(next.text);
      detail = `column #${trace[1]} (the base64 host key) is not valid base64${next ? `: ${next.body}` : ""}`;
      versions = "2.25+";
    } else if (SPEED_FACTOR.test(b)) {
      detail = "a speed factor is negative";
      versions = "2.20+";
    } else if (STOULL.test(b)) {
      detail = "a number column (max-jobs or speed factor) is not a number";
      versions = "≤2.4";
    } else return;
    this.claimed.add(i);
    const first = row?.trim().split(/\s+/)[0];
    this.add(
      i,
      {
        cause: "machines-file-invalid",
        summary: `a machines entry is malformed, so Nix cannot read its builders: ${detail}`,
        fix:
          "fix or remove that row in /etc/nix/machines (or in the builders setting): the columns are URI, systems, ssh key, max-jobs (integer), speed factor, " +
          "supported features, mandatory features, base64 host key, '-' for unset; 'crossnix builder list' shows how each row is read",
        nixVersions: versions,
      },
      ev,
      first ? { builder: first } : {},
    );
  }
}

function logTailOf(part: string[]): string[] {
  const k = part.findIndex((t) => /^[Ll]ast \d+ log lines:$/.test(t));
  if (k < 0) return [];
  const tail: string[] = [];
  for (const t of part.slice(k + 1)) {
    if (!t.startsWith(">")) break;
    tail.push(t.replace(/^> ?/, ""));
  }
  return tail;
}
