// `crossnix build`: parses its options, runs the build use case, renders progress and the result table.
import { type BuildResult, runBuild } from "../app/build.js";
import type { Handler } from "../context.js";
import { checkBuilderName } from "../core/builders/name.js";
import { drvName, type LogEvent } from "../core/build/nix-log.js";
import { isKnownSystem } from "../core/nix/systems.js";
import { badInput } from "../errors.js";
import { makeStyle, type Style } from "../ui/style.js";
import { renderTable } from "../ui/table.js";
import { ensureVmsRunning } from "../app/vm/ensure-running.js";
import { flagOption, type RawOptions, stringOption } from "./options.js";

export interface BuildOptions {
  /** --system, a Nix system double. */
  system: string | null;
  /** --builder: build only on this builder. */
  builder: string | null;
}

export function parseBuildOptions(raw: RawOptions): BuildOptions {
  const system = stringOption(raw, "system") ?? null;
  if (system !== null && !isKnownSystem(system))
    throw badInput("--system", system, "not a Nix system double", "e.g. aarch64-linux");
  const builder = stringOption(raw, "builder");
  return { system, builder: builder === undefined ? null : checkBuilderName("--builder", builder) };
}

function progressLine(
  style: Style,
  event: LogEvent,
  names: (machine: string) => string,
  showLogs: boolean,
): string | null {
  switch (event.kind) {
    case "build-start":
      return `${style.cyan("▸")} building ${drvName(event.drv)} on ${names(event.machine)}`;
    case "build-end":
      return `${style.green("✓")} ${drvName(event.drv)} on ${names(event.machine)} (${event.seconds.toFixed(1)} s)`;
    case "substitute":
      return `${style.dim("↓")} fetching ${drvName(event.path)} from ${event.from}`;
    case "log":
      return showLogs ? `${style.dim(`${drvName(event.drv)}>`)} ${event.line}` : null;
    case "message":
      return event.level <= 1 || showLogs ? event.text : null;
  }
}

function renderResult({ outputs, builds, substituted, seconds }: BuildResult): string {
  const table = builds.length
    ? renderTable(
        ["DERIVATION", "BUILDER", "TIME"],
        builds.map((b) => [drvName(b.drv), b.builder, b.seconds === null ? "?" : `${b.seconds.toFixed(1)} s`]),
      )
    : "Nothing had to be built.";
  return [
    ...outputs,
    "",
    table,
    ...(substituted.length ? [`Fetched ${substituted.length} path(s) from caches.`] : []),
    `Done in ${seconds.toFixed(1)} s.`,
  ].join("\n");
}

const build: Handler = async (ctx, { args, options, passthrough }) => {
  const { system, builder } = parseBuildOptions(options);
  const style = makeStyle(ctx.options.color);
  await ensureVmsRunning(ctx, { start: flagOption(options, "startVms") });
  const showLogs = ctx.options.verbose || passthrough.includes("-L") || passthrough.includes("--print-build-logs");
  const result = await runBuild(
    ctx,
    { installables: args, passthrough, system, builder, timeoutSeconds: ctx.options.timeout },
    (event, names) => {
      const text = ctx.options.json ? null : progressLine(style, event, names, showLogs);
      // Progress as the build runs, on stderr whatever the terminal (the result goes to stdout).
      if (text !== null) ctx.warn(text);
    },
  );
  return { json: result, text: renderResult(result) };
};

export default build;
