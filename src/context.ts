// The types shared by the CLI and command handlers: global options, Context, CommandResult, Handler.
import type { Host } from "./host/system/host.js";
import type { Prompter } from "./ui/prompt.js";

export interface GlobalOptions {
  json: boolean;
  dryRun: boolean;
  yes: boolean;
  verbose: boolean;
  color: boolean;
  /** Network probe timeout in seconds (DESIGN.md: default 10). */
  timeout: number;
}

/** What a command handler may use: the world (host), the user (prompt), and how to report progress. */
export interface Context {
  host: Host;
  options: GlobalOptions;
  prompt: Prompter;
  /** A line of progress on stderr (never on stdout, which --json keeps for one document). */
  progress(message: string): void;
  /**
   * Text for the person before the command's result (a plan shown before asking): stdout, and
   * nothing under --json. The result itself is returned, never written.
   */
  out(text: string): void;
  /** A line the person must see even without a terminal (stderr, always): "asking sudo…", lock waits. */
  warn(message: string): void;
  /** Detail shown only with --verbose. */
  debug(message: string): void;
}

/** What a handler returns; cli.ts prints `text`, or `json` with --json, and exits with `exitCode`. */
export interface CommandResult {
  json: unknown;
  text: string;
  exitCode?: 0 | 1;
}

export interface CommandInput {
  args: string[];
  options: Record<string, unknown>;
  /** Everything after a literal `--`, untouched (e.g. arguments for nix). */
  passthrough: string[];
}

export type Handler = (ctx: Context, input: CommandInput) => Promise<CommandResult>;
