// `crossnix env`: parses options and prints the shell lines of the env use case.
import { envScript } from "../app/env.js";
import type { Handler } from "../context.js";
import { checkBuilderName } from "../core/builders/name.js";
import type { ShellKind } from "../core/env/script.js";
import { badInput } from "../errors.js";
import { listOption, type RawOptions, stringOption } from "./options.js";

export interface EnvOptions {
  /** --shell; null: decided from $SHELL. */
  shell: ShellKind | null;
  /** --builder, repeatable; []: every builder in the machines file. */
  builders: string[];
}

export function parseEnvOptions(raw: RawOptions): EnvOptions {
  const shell = stringOption(raw, "shell") ?? null;
  if (shell !== null && shell !== "sh" && shell !== "fish") throw badInput("--shell", shell, "must be sh or fish");
  return { shell, builders: listOption(raw, "builder").map((name) => checkBuilderName("--builder", name)) };
}

const env: Handler = async (ctx, { options }) => {
  const script = await envScript(ctx.host, parseEnvOptions(options));
  return { json: script, text: script.lines.join("\n") };
};

export default env;
