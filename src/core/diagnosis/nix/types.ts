// What a diagnosis says, and the shapes the scan builds it from.
import type { SshFailureCause } from "../ssh.js";

export type NixFailureCause =
  /** ssh's own reasons, from classifySshFailure (host-key-unknown, auth, refused, ssh-missing, …). */
  | Exclude<SshFailureCause, "unknown">
  /** ssh failed, and Nix's output does not say why (ssh's stderr went to the daemon's log). */
  | "ssh-connect-failed"
  /** The connection closed before Nix's protocol started; ssh's stderr is not in the output. */
  | "remote-connection-closed"
  | "remote-program-not-found"
  | "protocol-mismatch-shell-noise"
  | "remote-untrusted"
  | "signature-missing"
  | "no-suitable-machine"
  | "local-builds-disabled"
  | "client-builders-ignored"
  | "remote-daemon-down"
  /** The builder's store cannot be opened or written: its disk is full (or failing). */
  | "remote-disk-full"
  /** A daemon socket refused the connection, and nothing says it was the builder's. */
  | "daemon-down"
  | "machines-file-invalid"
  | "extra-builders-unknown"
  /** The build itself failed (on the builder or here): not a configuration problem. */
  | "build-failed"
  /** A builder was named as failing, for a reason not recognised. */
  | "unknown";

export interface NixDiagnosis {
  cause: NixFailureCause;
  /** One sentence a person understands. */
  summary: string;
  /** What to do, concretely. */
  fix: string;
  /** The line(s) that decided it, ANSI stripped. */
  evidence: string;
  /** The machine URI (or host) the message names. */
  builder?: string;
  /** no-suitable-machine: the system and features the derivation needs. */
  system?: string;
  features?: string[];
  drv?: string;
  /** Which Nix versions print the deciding wording, e.g. "2.30–2.33". */
  nixVersions?: string;
  /** build-failed: the last lines of the build log Nix showed. */
  logTail?: string[];
}

export interface Hit extends NixDiagnosis {
  /** Line where it was found: the order of appearance. */
  at: number;
  /** How much the summary/fix says; the richer one wins when two findings merge. */
  detail: number;
  exitCode?: number;
  /** Evidence lines only (for the build-failed check). */
  lines: string[];
}

export interface Where {
  /** URI or host, as the message names it. */
  builder?: string;
  scheme?: string;
}

export type Explained = Pick<NixDiagnosis, "cause" | "summary" | "fix" | "nixVersions"> & { detail?: number };
