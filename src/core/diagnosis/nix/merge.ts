// Merging and ordering the findings of one scan: one finding per cause and builder (or
// derivation), generic ones absorbed by specific ones, most specific first.
import { drvBase, hostOf, uniqueLines } from "./lines.js";
import type { Hit, NixDiagnosis, NixFailureCause } from "./types.js";

/** The order of the result: most specific first, then order of appearance. */
export const TIER: Record<NixFailureCause, number> = {
  "host-key-changed": 0,
  "host-key-unknown": 0,
  "key-permissions": 0,
  auth: 0,
  dns: 0,
  refused: 0,
  timeout: 0,
  unreachable: 0,
  "ssh-missing": 0,
  "remote-program-not-found": 0,
  "protocol-mismatch-shell-noise": 0,
  "remote-untrusted": 0,
  "signature-missing": 0,
  "remote-daemon-down": 0,
  "remote-disk-full": 0,
  "machines-file-invalid": 0,
  "client-builders-ignored": 0,
  "extra-builders-unknown": 0,
  "ssh-connect-failed": 1,
  "remote-connection-closed": 1,
  "daemon-down": 1,
  unknown: 1,
  "no-suitable-machine": 2,
  "local-builds-disabled": 3,
  "build-failed": 4,
};

/** Connection causes that only say "it failed": a specific finding for the same builder absorbs them. */
export const GENERIC_CONNECTION: ReadonlySet<NixFailureCause> = new Set([
  "ssh-connect-failed",
  "remote-connection-closed",
  "unknown",
]);
/** Failures after the hook accepted the build; the hook then exits 1 and Nix reports that as a builder failure. */
export const AFTER_ACCEPT: ReadonlySet<NixFailureCause> = new Set([
  "remote-untrusted",
  "signature-missing",
  "remote-daemon-down",
]);
/** One finding per cause, whatever the builder. */
export const GLOBAL: ReadonlySet<NixFailureCause> = new Set([
  "client-builders-ignored",
  "extra-builders-unknown",
  "local-builds-disabled",
]);

const MAX_EVIDENCE = 8;

function joinEvidence(lines: string[]): string {
  const u = uniqueLines(lines);
  if (u.length <= MAX_EVIDENCE) return u.join("\n");
  return [...u.slice(0, MAX_EVIDENCE), `… and ${u.length - MAX_EVIDENCE} more like these`].join("\n");
}

function sameBuilder(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && hostOf(a) === hostOf(b);
}

function merge(into: Hit, from: Hit): void {
  into.lines = uniqueLines([...into.lines, ...from.lines]);
  if (from.builder && (!into.builder || (!into.builder.includes("://") && from.builder.includes("://"))))
    into.builder = from.builder;
  into.system ??= from.system;
  if ((!into.features || into.features.length === 0) && from.features?.length) into.features = from.features;
  into.drv ??= from.drv;
  into.logTail ??= from.logTail;
  into.exitCode ??= from.exitCode;
  if (from.detail > into.detail) {
    into.summary = from.summary;
    into.fix = from.fix;
    into.detail = from.detail;
    if (from.nixVersions) into.nixVersions = from.nixVersions;
  } else into.nixVersions ??= from.nixVersions;
  into.at = Math.min(into.at, from.at);
}

function keyOf(h: Hit): string {
  if (GLOBAL.has(h.cause)) return h.cause;
  if (h.cause === "build-failed" || h.cause === "no-suitable-machine") return `${h.cause}|${drvBase(h.drv)}`;
  if (h.cause === "machines-file-invalid") return `${h.cause}|${h.lines[0]}`;
  return `${h.cause}|${h.builder ? hostOf(h.builder) : ""}`;
}

export function finish(raw: Hit[]): NixDiagnosis[] {
  let hits = [...raw].sort((a, b) => a.at - b.at);

  // A builder's generic connection failure is explained by a specific finding for that builder.
  hits = hits.filter((g) => {
    if (!GENERIC_CONNECTION.has(g.cause)) return true;
    const s = hits.find((h) => h !== g && TIER[h.cause] === 0 && sameBuilder(h.builder, g.builder));
    if (!s) return true;
    merge(s, g);
    return false;
  });

  // After the hook accepted a build, its failure (untrusted, unsigned, remote daemon down) makes Nix
  // report "builder … failed with exit code 1": that is the hook's exit, not the build's.
  hits = hits.filter((f) => {
    if (f.cause !== "build-failed") return true;
    const cause = hits.find(
      (h) =>
        AFTER_ACCEPT.has(h.cause) &&
        ((h.at < f.at && f.exitCode === 1 && (!h.builder || !f.builder || sameBuilder(h.builder, f.builder))) ||
          (f.logTail ?? []).some((t) => h.lines.some((l) => l.includes(t.trim()) && t.trim() !== ""))),
    );
    if (!cause) return true;
    cause.drv ??= f.drv;
    return false;
  });

  // Same cause, same builder / derivation: one finding.
  const byKey = new Map<string, Hit>();
  const out: Hit[] = [];
  for (const h of hits) {
    const k = keyOf(h);
    const seen = byKey.get(k);
    if (seen) merge(seen, h);
    else {
      byKey.set(k, h);
      out.push(h);
    }
  }
  // A finding without builder / derivation joins one of the same cause that has it.
  const final = out.filter((h) => {
    if (GLOBAL.has(h.cause)) return true;
    const drvKeyed = h.cause === "build-failed" || h.cause === "no-suitable-machine";
    if (drvKeyed ? h.drv !== undefined : h.builder !== undefined) return true;
    const other = out.find(
      (o) => o !== h && o.cause === h.cause && (drvKeyed ? o.drv !== undefined : o.builder !== undefined),
    );
    if (!other) return true;
    merge(other, h);
    return false;
  });

  final.sort((a, b) => TIER[a.cause] - TIER[b.cause] || a.at - b.at);
  return final.map((h) => {
    const d: NixDiagnosis = { cause: h.cause, summary: h.summary, fix: h.fix, evidence: joinEvidence(h.lines) };
    if (h.builder) d.builder = h.builder;
    if (h.system) d.system = h.system;
    if (h.features && (h.cause === "no-suitable-machine" || h.features.length)) d.features = h.features;
    if (h.drv) d.drv = h.drv;
    if (h.nixVersions) d.nixVersions = h.nixVersions;
    if (h.logTail?.length) d.logTail = h.logTail;
    return d;
  });
}
