/**
 * The one error type crossnix throws for expected failures. The top-level handler in cli.ts
 * prints `message` and `hint` (or a JSON document) and exits with `exitCode`; no stack trace.
 *
 * Exit codes (DESIGN.md): 1 the operation or a check failed, 2 bad usage or bad input, 130 the
 * person interrupted a prompt (Ctrl-C, as a shell reports SIGINT).
 */
export type ErrorCode =
  | "USAGE"
  | "BAD_INPUT"
  | "PARSE"
  | "NOT_FOUND"
  | "CONFLICT"
  | "LOCKED"
  | "IO"
  | "EXEC"
  | "SSH"
  | "NIX"
  | "PERMISSION"
  | "NOT_APPLIED"
  | "UNSUPPORTED"
  | "CHECK_FAILED"
  | "INTERRUPTED";

const BAD_INPUT_CODES: ReadonlySet<ErrorCode> = new Set(["USAGE", "BAD_INPUT", "PARSE"]);

export type ErrorExitCode = 1 | 2 | 130;

export interface ErrorOptions {
  hint?: string;
  exitCode?: ErrorExitCode;
  cause?: unknown;
  /** Extra machine-readable detail for --json output. */
  detail?: Record<string, unknown>;
  /** The failure came before any change: cli.ts says "Nothing was written." once, after the hint. */
  nothingWritten?: boolean;
}

export class CrossnixError extends Error {
  override readonly name = "CrossnixError";
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: ErrorExitCode;
  readonly detail: Record<string, unknown> | undefined;
  readonly nothingWritten: boolean;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? (BAD_INPUT_CODES.has(code) ? 2 : 1);
    this.detail = options.detail;
    this.nothingWritten = options.nothingWritten ?? false;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.detail ? { detail: this.detail } : {}),
      ...(this.nothingWritten ? { nothingWritten: true } : {}),
    };
  }
}

/** A file changed after the plan was made from it (another crossnix applied first, or a person edited it). */
export function planOutdated(file: string): CrossnixError {
  return new CrossnixError("CONFLICT", `${file} changed while crossnix was planning; nothing was written`, {
    hint: "run the command again",
    detail: { outdated: file },
  });
}

/** Whether the error is planOutdated's (also after crossing the sudo hand-off as JSON). */
export function isPlanOutdated(error: unknown): boolean {
  return error instanceof CrossnixError && typeof error.detail?.["outdated"] === "string";
}

/** Bad input: names the field and the offending value. Exit 2, before anything is written. */
export function badInput(field: string, value: unknown, why: string, hint?: string): CrossnixError {
  const shown = typeof value === "string" ? `'${value}'` : String(value);
  return new CrossnixError("BAD_INPUT", `invalid ${field} ${shown}: ${why}`, {
    ...(hint ? { hint } : {}),
    detail: { field, value },
    nothingWritten: true,
  });
}

/** A builder name that names no builder: the same code, text and exit 2 from every command. */
export function noSuchBuilder(names: string[], known: string[]): CrossnixError {
  return new CrossnixError("NOT_FOUND", `no builder named ${names.map((n) => `'${n}'`).join(", ")}`, {
    hint: `known: ${known.join(", ") || "none (add one with: crossnix builder add user@host)"}`,
    exitCode: 2,
    detail: { names, known },
  });
}

/**
 * No SSH server answered at `host[:port]` when asked for its host key (ssh-keyscan): the last line
 * the scan printed that is not a comment, or why it stopped. Nothing was written yet.
 */
export function unreachable(
  host: string,
  port: number | null,
  scan: { stderr: string; timedOut: boolean },
): CrossnixError {
  const why =
    scan.stderr
      .trim()
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .at(-1) ?? "";
  return new CrossnixError(
    "SSH",
    `cannot reach ${host}${port ? `:${port}` : ""}: ${scan.timedOut ? "timed out" : why || "no SSH server answered"}`,
    { hint: "check that the builder is up and sshd listens on that address and port", nothingWritten: true },
  );
}

/** The person pressed Ctrl-C at a prompt: exit 130, as a shell reports an interrupted program. */
export function interrupted(what: string): CrossnixError {
  return new CrossnixError("INTERRUPTED", `interrupted ${what}`, { exitCode: 130 });
}

/** A malformed file, located like Nix's own messages: file:line:column and the offending text. */
export function parseError(
  file: string,
  line: number,
  column: number,
  text: string,
  why: string,
  hint?: string,
): CrossnixError {
  return new CrossnixError("PARSE", `${file}:${line}:${column}: ${why}: '${text}'`, {
    ...(hint ? { hint } : {}),
    detail: { file, line, column, text },
  });
}

export function isCrossnixError(error: unknown): error is CrossnixError {
  return error instanceof CrossnixError;
}
