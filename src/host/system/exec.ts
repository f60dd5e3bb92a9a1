// Runs programs without a shell and describes every outcome (exit, timeout, signal, missing).
import { spawn } from "node:child_process";
import { CrossnixError } from "../../errors.js";

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Milliseconds before the process (group) is killed; default 60 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Sent to the process group when `signal` aborts; default SIGKILL (SIGINT lets Nix stop cleanly). */
  abortWith?: NodeJS.Signals;
  /** Called with each chunk of stderr as it arrives (for streaming Nix progress). */
  onStderr?: (chunk: string) => void;
  onStdout?: (chunk: string) => void;
}

export interface ExecResult {
  argv: readonly string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The executable could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
  durationMs: number;
}

export type Exec = (argv: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

/**
 * Runs a program without a shell, from an argument array. Never rejects: a missing program, a
 * timeout or a signal are all described by the result, so callers decide what is an error.
 */
export const exec: Exec = (argv, options = {}) => {
  const started = performance.now();
  const [file, ...args] = argv;
  if (!file) throw new CrossnixError("EXEC", "empty command");
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let settled = false;
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      // Own process group, so a timeout kills ssh and whatever it started.
      detached: true,
    });
    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        child.kill(signal);
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup("SIGKILL");
    }, options.timeoutMs ?? 60_000);
    const onAbort = () => killGroup(options.abortWith ?? "SIGKILL");
    options.signal?.addEventListener("abort", onAbort, { once: true });

    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(chunk);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      options.onStderr?.(chunk);
    });
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");

    const finish = (result: Partial<ExecResult>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve({
        argv,
        exitCode: null,
        signal: null,
        stdout,
        stderr,
        timedOut,
        durationMs: performance.now() - started,
        ...result,
      });
    };
    child.on("error", (error: NodeJS.ErrnoException) => {
      finish({ exitCode: 127, spawnError: `${error.code ?? "error"}: ${error.message}` });
    });
    child.on("close", (code, signal) => finish({ exitCode: code, signal }));
  });
};

/** True when the command ran and exited 0. */
export function succeeded(result: ExecResult): boolean {
  return result.exitCode === 0 && !result.timedOut;
}

/** Short human description of why a command failed. */
export function describeFailure(result: ExecResult): string {
  const cmd = result.argv.join(" ");
  if (result.spawnError) return `cannot run '${result.argv[0]}': ${result.spawnError}`;
  if (result.timedOut) return `'${cmd}' timed out after ${Math.round(result.durationMs / 1000)} s`;
  if (result.signal) return `'${cmd}' was killed by ${result.signal}`;
  const tail = result.stderr.trim().split("\n").slice(-5).join("\n");
  return `'${cmd}' exited with ${result.exitCode}${tail ? `:\n${tail}` : ""}`;
}

/** Runs and throws a CrossnixError when the command fails. */
export async function execOrThrow(run: Exec, argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
  const result = await run(argv, options);
  if (!succeeded(result)) throw new CrossnixError("EXEC", describeFailure(result));
  return result;
}
