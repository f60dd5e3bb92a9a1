// Probes a builder over SSH: reach it, or run the probe script and parse its facts.
import { classifySshFailure, type SshFailure } from "../../core/diagnosis/ssh.js";
import { PROBE_SCRIPT, type ProbeFacts, parseProbeOutput } from "../../core/builders/probe.js";
import type { ExecResult } from "../system/exec.js";
import type { Host } from "../system/host.js";
import { type SshTarget, sshRun } from "./ssh.js";

export type ProbeOutcome =
  | { ok: true; facts: ProbeFacts; seconds: number }
  | { ok: false; failure: SshFailure; seconds: number; stderr: string };

/** One SSH connection: connect, authenticate, run the probe script, parse its facts. */
export async function probeBuilder(
  host: Host,
  target: SshTarget,
  options: { timeoutSeconds: number; interactiveUser?: boolean; signal?: AbortSignal },
): Promise<ProbeOutcome> {
  const run = await sshRun(host, target, PROBE_SCRIPT, {
    timeoutSeconds: options.timeoutSeconds,
    ...(options.interactiveUser ? { interactiveUser: true } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const seconds = run.durationMs / 1000;
  const facts = run.exitCode === 0 && !run.timedOut ? parseProbeOutput(run.stdout) : null;
  if (facts) return { ok: true, facts, seconds };
  const failure = sshFailureOf(run, target.hostKeyAlias ?? target.host);
  if (failure.cause === "unknown" && run.exitCode !== 255) {
    failure.summary = `the probe script failed on the builder (exit ${run.exitCode})`;
    failure.fix = "run the command by hand with ssh -v to see why";
  }
  return { ok: false, failure, seconds, stderr: run.stderr };
}

/** The cheapest check that Nix could use a builder: connect, verify the host key, authenticate. */
export async function reachBuilder(
  host: Host,
  target: SshTarget,
  options: { timeoutSeconds: number },
): Promise<{ ok: true } | { ok: false; failure: SshFailure }> {
  const run = await sshRun(host, target, "exit 0", { timeoutSeconds: options.timeoutSeconds });
  if (run.exitCode === 0 && !run.timedOut) return { ok: true };
  return { ok: false, failure: sshFailureOf(run, target.host) };
}

function sshFailureOf(run: ExecResult, host: string): SshFailure {
  return classifySshFailure(run.stderr, {
    timedOut: run.timedOut,
    ...(run.spawnError ? { spawnError: run.spawnError } : {}),
    host,
  });
}
