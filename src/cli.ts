#!/usr/bin/env node
// crossnix's entry point: parses global options, runs one command, prints its result, sets the exit code.
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { CommandResult, Context, GlobalOptions, Handler } from "./context.js";
import { CrossnixError, isCrossnixError } from "./errors.js";
import { createHost } from "./host/system/host.js";
import type { LazyAction } from "./commands/lazy.js";
import { registerVerbs } from "./commands/register.js";
import { terminalPrompter } from "./ui/prompt.js";
import { colorWanted, makeStyle } from "./ui/style.js";

const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version;

function parseTimeout(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError("must be a positive number of seconds");
  return seconds;
}

function buildProgram(
  run: (handler: () => Promise<{ default: Handler }>, command: Command, args: string[]) => Promise<void>,
) {
  const program = new Command("crossnix")
    .description("Linux builds from a Mac running Determinate Nix: builders, diagnosis, CI.")
    .version(version, "-V, --version", "print the crossnix version")
    .option("--json", "print one JSON document on stdout", false)
    .option("--dry-run", "show what would change, change nothing", false)
    .option("-y, --yes", "apply changes without asking", false)
    .option("-v, --verbose", "show more detail", false)
    .option("--no-color", "no colours in output")
    .addOption(new Option("--timeout <seconds>", "timeout for network probes").default(10).argParser(parseTimeout))
    .showSuggestionAfterError(true)
    .showHelpAfterError("(run 'crossnix --help' for usage)")
    .configureOutput({ outputError: (text, write) => write(text) })
    .exitOverride();
  program.addHelpText(
    "after",
    `
Examples:
  $ crossnix builder add builder@build-box.example:2222 --copy-key
  $ crossnix builder list
  $ crossnix doctor

Exit codes: 0 ok, 1 an operation or check failed, 2 bad usage or input, 130 interrupted.`,
  );
  const lazy: LazyAction =
    (load) =>
    async (...commanderArgs: unknown[]) => {
      const command = commanderArgs.at(-1) as Command;
      const positional = commanderArgs
        .slice(0, -2)
        .flatMap((a) => (Array.isArray(a) ? (a as string[]) : [a as string]));
      await run(
        load,
        command,
        positional.filter((a) => a !== undefined),
      );
    };
  registerVerbs(program, lazy);
  return program;
}

function globalOptions(command: Command): GlobalOptions {
  const o = command.optsWithGlobals() as Record<string, unknown>;
  return {
    json: o["json"] === true,
    dryRun: o["dryRun"] === true,
    yes: o["yes"] === true,
    verbose: o["verbose"] === true,
    color: colorWanted(o["color"] !== false, process.env, process.stdout),
    timeout: typeof o["timeout"] === "number" ? o["timeout"] : 10,
  };
}

function print(options: GlobalOptions, result: CommandResult): void {
  if (options.json) process.stdout.write(`${JSON.stringify(result.json, null, 2)}\n`);
  else if (result.text !== "") process.stdout.write(result.text.endsWith("\n") ? result.text : `${result.text}\n`);
}

function reportError(error: unknown, json: boolean, color: boolean): number {
  const style = makeStyle(color);
  if (isCrossnixError(error)) {
    if (json) process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`);
    process.stderr.write(`${style.red("error:")} ${error.message}\n`);
    if (error.hint) process.stderr.write(`${style.dim("hint:")} ${error.hint}\n`);
    if (error.nothingWritten) process.stderr.write("Nothing was written.\n");
    return error.exitCode;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (json)
    process.stdout.write(`${JSON.stringify({ error: { code: "INTERNAL", message: String(error) } }, null, 2)}\n`);
  process.stderr.write(`${style.red("internal error:")} ${message}\nPlease report this with the command you ran.\n`);
  return 1;
}

/** crossnix's own arguments: everything before a literal `--` (after it, they are nix's). */
function ownArgs(argv: string[]): string[] {
  const dash = argv.indexOf("--");
  return dash >= 0 ? argv.slice(0, dash) : argv;
}

/** A parse failure (missing argument, unknown option or command, bad option value) as crossnix's error. */
function usageError(error: CommanderError): CrossnixError {
  return new CrossnixError("USAGE", error.message.replace(/^error:\s*/, ""), {
    hint: "run 'crossnix --help' for usage",
    detail: { parser: error.code },
  });
}

export async function main(argv: string[]): Promise<number> {
  // `crossnix builder list | head` closes the pipe early; that is not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  let exitCode = 0;
  let options: GlobalOptions | undefined;
  const program = buildProgram(async (load, command, args) => {
    options = globalOptions(command);
    const opts = options;
    const ctx: Context = {
      host: createHost(),
      options: opts,
      prompt: terminalPrompter(),
      out: (text) => {
        if (!opts.json) process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
      },
      warn: (m) => {
        process.stderr.write(`${m}\n`);
      },
      progress: (m) => {
        if (opts.verbose || process.stderr.isTTY) process.stderr.write(`${m}\n`);
      },
      debug: (m) => {
        if (opts.verbose) process.stderr.write(`${m}\n`);
      },
    };
    const handler = (await load()).default;
    const dash = argv.indexOf("--");
    const passthrough = dash >= 0 ? argv.slice(dash + 1) : [];
    const operands = passthrough.length ? args.slice(0, Math.max(0, args.length - passthrough.length)) : args;
    const result = await handler(ctx, { args: operands, options: command.opts(), passthrough });
    print(opts, result);
    exitCode = result.exitCode ?? 0;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    const wantsJson = options?.json ?? ownArgs(argv).includes("--json");
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
      if (error.code === "commander.help" || error.code === "commander.executeSubCommandAsync") return 0;
      // commander already printed the message and the "did you mean" hint on stderr.
      if (wantsJson) process.stdout.write(`${JSON.stringify({ error: usageError(error).toJSON() }, null, 2)}\n`);
      return 2;
    }
    const color = options?.color ?? colorWanted(!ownArgs(argv).includes("--no-color"), process.env, process.stderr);
    return reportError(error, wantsJson, color);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`internal error: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
