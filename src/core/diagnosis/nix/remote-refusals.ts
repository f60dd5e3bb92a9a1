// The builder's Nix refusing what it is sent, after the connection worked: the same three texts
// reach the output in four ways (after Nix's connection error, inside "build of … on … failed",
// in the hook's log tail, or alone), so they are recognised, dated and explained in one place.
import { remoteDaemonDown, signature, untrusted } from "./explain.js";
import { LACKS_SIG, NOT_PRIVILEGED, SOCKET_DOWN } from "./patterns.js";
import type { Explained, NixFailureCause, Where } from "./types.js";

export type RemoteRefusalCause = Extract<
  NixFailureCause,
  "remote-untrusted" | "signature-missing" | "remote-daemon-down"
>;

export interface RemoteRefusal {
  cause: RemoteRefusalCause;
  pattern: RegExp;
  /** The Nix versions that print the matched wording. */
  versions(match: RegExpExecArray): string;
  explain(w: Where, versions: string): Explained;
  /** It can reach the output as a build-log line (the hook's own error, in a log tail). */
  inBuildLog: boolean;
}

/** In the order a line is tested against them. */
export const REMOTE_REFUSALS: readonly RemoteRefusal[] = [
  {
    cause: "remote-untrusted",
    pattern: NOT_PRIVILEGED,
    versions: (m) => (m[1] ? "2.4+" : "≤2.3"),
    explain: untrusted,
    inBuildLog: true,
  },
  {
    cause: "signature-missing",
    pattern: LACKS_SIG,
    versions: (m) => (m[2] === "valid signature" ? "≤2.11" : "2.12+"),
    explain: signature,
    inBuildLog: true,
  },
  {
    cause: "remote-daemon-down",
    pattern: SOCKET_DOWN,
    versions: (m) => (m[1] === "socket" ? "2.4+" : "≤2.3"),
    explain: remoteDaemonDown,
    inBuildLog: false,
  },
];

export interface RefusalFound {
  cause: RemoteRefusalCause;
  versions: string;
  /** The explanation for the builder it is about. */
  explain(w: Where): Explained;
  inBuildLog: boolean;
}

/** The refusal a text states (the first in table order), among `causes` when given. */
export function remoteRefusal(text: string, causes?: readonly RemoteRefusalCause[]): RefusalFound | undefined {
  for (const r of REMOTE_REFUSALS) {
    if (causes && !causes.includes(r.cause)) continue;
    const m = r.pattern.exec(text);
    if (!m) continue;
    const versions = r.versions(m);
    return { cause: r.cause, versions, explain: (w) => r.explain(w, versions), inBuildLog: r.inBuildLog };
  }
  return undefined;
}
