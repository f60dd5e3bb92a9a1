// `builder setup-remote`'s I/O: reads the builder's facts and applies the change over SSH (with sudo).
import { spawnSync } from "node:child_process";
import type { Context } from "../../context.js";
import { classifySshFailure } from "../../core/diagnosis/ssh.js";
import {
  type ApplyReport,
  parseApplyOutput,
  parseRemoteFacts,
  REMOTE_FACTS_SCRIPT,
  type RemoteFacts,
  SUDO_SCRIPT,
  sudoArgs,
  type TrustDecision,
} from "../../core/builders/remote-trust.js";
import { CrossnixError, interrupted } from "../../errors.js";
import type { Host } from "../system/host.js";
import { type SshTarget, sshRun } from "./ssh.js";

/** Everything setup-remote needs to know, in one SSH session through the user's own login. */
export async function readRemoteFacts(host: Host, target: SshTarget, timeoutSeconds: number): Promise<RemoteFacts> {
  const run = await sshRun(host, target, REMOTE_FACTS_SCRIPT, { timeoutSeconds, interactiveUser: true });
  const facts = run.exitCode === 0 && !run.timedOut ? parseRemoteFacts(run.stdout) : null;
  if (facts) return facts;
  const failure = classifySshFailure(run.stderr, {
    timedOut: run.timedOut,
    ...(run.spawnError ? { spawnError: run.spawnError } : {}),
    host: target.hostKeyAlias ?? target.host,
  });
  const summary =
    failure.cause === "unknown" && run.exitCode !== 255
      ? `the script failed on the builder (exit ${run.exitCode})`
      : failure.summary;
  throw new CrossnixError(
    "SSH",
    `cannot read the Nix configuration of ${target.host}: ${summary} (${failure.evidence})`,
    {
      hint: `${failure.fix}`,
      nothingWritten: true,
    },
  );
}

/**
 * Asks for the builder's sudo password on the terminal, without echo. (Read through the same
 * prompter as every other answer, so tests that pipe answers can give it too.) Ctrl-C there
 * restores the echo and throws INTERRUPTED (exit 130): nothing was written, since sudo ran nothing.
 */
async function askPassword(ctx: Pick<Context, "prompt">, question: string, where: string): Promise<string> {
  if (!process.stdin.isTTY) return ctx.prompt.ask(question);
  const echo = (on: boolean) => spawnSync("stty", [on ? "echo" : "-echo"], { stdio: ["inherit", "ignore", "ignore"] });
  const restore = () => echo(true);
  let onInterrupt = () => {};
  const interruptedAt = new Promise<never>((_, reject) => {
    onInterrupt = () => {
      // Stop reading the terminal, so the process can end once the error is reported.
      process.stdin.pause();
      reject(interrupted(`at the sudo password prompt for ${where}; nothing was written there`));
    };
  });
  echo(false);
  process.once("exit", restore);
  process.once("SIGINT", onInterrupt);
  try {
    return await Promise.race([ctx.prompt.ask(question), interruptedAt]);
  } finally {
    restore();
    process.removeListener("exit", restore);
    process.removeListener("SIGINT", onInterrupt);
    process.stderr.write("\n");
  }
}

export interface RemoteApplyResult {
  report: Extract<ApplyReport, { kind: "done" }>;
  /** How sudo was used. */
  sudo: "batch" | "password";
}

/**
 * Writes the change as root through the remote sudo, then restarts the daemon, in one SSH
 * session. `sudo -n` first; when it wants a password and a person is at the terminal, asks for it
 * and tries once more with `sudo -S`. Throws when nothing could be done, or what was done.
 */
export async function applyRemoteChange(
  ctx: Pick<Context, "host" | "options" | "prompt">,
  target: SshTarget,
  decision: Extract<TrustDecision, { kind: "change" }>,
  stamp: string,
  user: string,
): Promise<RemoteApplyResult> {
  const where = target.host;
  // The restart waits for the daemon: allow more than a probe.
  const timeoutSeconds = ctx.options.timeout + 60;
  const attempt = async (mode: "batch" | "password", password?: string) => {
    const run = await sshRun(ctx.host, target, SUDO_SCRIPT, {
      timeoutSeconds,
      interactiveUser: true,
      args: sudoArgs(mode, decision, stamp),
      ...(password !== undefined ? { input: `${password}\n` } : {}),
    });
    if (run.timedOut || (run.exitCode === 255 && !run.stdout)) {
      const failure = classifySshFailure(run.stderr, { timedOut: run.timedOut, host: target.hostKeyAlias ?? where });
      throw new CrossnixError("SSH", `lost the connection to ${where} while applying: ${failure.summary}`, {
        hint: `check ${decision.file} on the builder (a backup is kept next to it if it was replaced)`,
      });
    }
    return parseApplyOutput(run.stdout, run.stderr, run.exitCode);
  };

  let mode: "batch" | "password" = "batch";
  let report = await attempt(mode);
  if (report.kind === "no-sudo" && !report.missing && ctx.prompt.interactive) {
    mode = "password";
    const password = await askPassword(ctx, `[sudo] password for ${user} on ${where}:`, where);
    report = await attempt(mode, password);
  }
  if (report.kind === "no-sudo") {
    throw new CrossnixError(
      "PERMISSION",
      report.missing
        ? `sudo is not installed on ${where}, so crossnix cannot edit its Nix configuration`
        : `sudo on ${where} did not run the change: ${report.message}`,
      {
        hint: report.missing
          ? `install sudo there, or as root on the builder add the user to trusted-users and restart its nix-daemon`
          : ctx.prompt.interactive
            ? `'${user}' needs sudo rights on the builder`
            : `without a terminal crossnix can only use passwordless sudo ('sudo -n'): give the SSH user passwordless sudo on the builder (e.g. '${user} ALL=(root) NOPASSWD: ALL' in a file under /etc/sudoers.d), or run crossnix from a terminal to type the password`,
        detail: { sudo: mode },
        nothingWritten: true,
      },
    );
  }
  if (report.kind === "failed") {
    if (!report.written) {
      throw new CrossnixError(
        report.conflict ? "CONFLICT" : "EXEC",
        `${where}: ${report.message}; nothing was written`,
        {
          hint: report.conflict
            ? "someone changed it meanwhile: run the command again to see the new diff"
            : "fix the cause on the builder and run the command again",
        },
      );
    }
    throw new CrossnixError("EXEC", `${where}: ${decision.file} was written, but ${report.message}`, {
      hint: `restart the Nix daemon on the builder yourself; the old file is kept next to it`,
    });
  }
  return { report, sudo: mode };
}

/**
 * Re-reads the builder until its daemon trusts the user (a restarted daemon may take a moment to
 * answer), at most `attempts` times.
 */
export async function waitForTrust(
  host: Host,
  target: SshTarget,
  timeoutSeconds: number,
  attempts = 6,
): Promise<RemoteFacts> {
  let facts = await readRemoteFacts(host, target, timeoutSeconds);
  for (let i = 1; i < attempts && facts.probe.trusted !== true; i++) {
    await new Promise((r) => setTimeout(r, 500));
    facts = await readRemoteFacts(host, target, timeoutSeconds);
  }
  return facts;
}
