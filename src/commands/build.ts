// `crossnix build`: parses its options, runs the build use case, shows the build view while it runs
// (live on a terminal, timestamped lines otherwise) and the summary of what ran where.
import { type BuildObserver, type BuildResult, runBuild } from "../app/build.js";
import type { Context, Handler } from "../context.js";
import { checkBuilderName } from "../core/builders/name.js";
import type { BuildTracker } from "../core/build/fleet-state.js";
import { isKnownSystem } from "../core/nix/systems.js";
import { badInput } from "../errors.js";
import { ActionsGroups, formatChange, formatSummary } from "../ui/build-lines.js";
import type { LiveView } from "../ui/build-live.js";
import { makeStyle } from "../ui/style.js";
import { flagOption, type RawOptions, stringOption } from "./options.js";
import { ensureVmsRunning } from "../app/vm/ensure-running.js";

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

/** How the build is shown while it runs: a live view on a terminal, timestamped lines otherwise. */
function makeObserver(ctx: Context, logs: boolean): BuildObserver {
  const style = makeStyle(ctx.options.color);
  const verbose = ctx.options.verbose;
  if (ctx.options.json) return { change: () => {}, end: () => {} };
  const summary = (tracker: BuildTracker, seconds: number) =>
    formatSummary(
      {
        builds: tracker.builds,
        fetched: tracker.fetched,
        notStarted: tracker.notStarted,
        seconds,
        fetchedBytes: tracker.fetchedBytes,
      },
      style,
      verbose,
    );
  // A terminal gets the live view unless colours were turned off (--no-color asks for plain lines).
  if (process.stderr.isTTY && ctx.options.color) {
    // Drawn from Nix's first event on, so "Evaluating…" and other progress lines come before it.
    let live: LiveView | null = null;
    let tracker: BuildTracker | null = null;
    // Changes are gathered and drawn together, at most 10 times a second: a busy build sends Nix
    // events by the hundred, and the picture (and React) need not be worked out for each one.
    let pending: string[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    // Elapsed times move even when Nix says nothing: once a second.
    let tick: ReturnType<typeof setInterval> | undefined;
    // ink and react load while Nix evaluates (they cost start-up time no pipe or CI run should pay).
    let start: typeof import("../ui/build-live.js").startLiveView | null = null;
    // React's development build (the default without NODE_ENV) costs several times the CPU per redraw.
    process.env["NODE_ENV"] ??= "production";
    void import("../ui/build-live.js").then((m) => {
      start = m.startLiveView;
      if (tracker) flushTimer ??= setTimeout(draw, 0);
    });
    const draw = () => {
      flushTimer = undefined;
      if (!tracker) return;
      if (!live && start) {
        live = start(process.stderr);
        tick = setInterval(draw, 1000);
      }
      if (!live) return;
      if (pending.length) live.print(...pending);
      pending = [];
      live.update(tracker.view(Date.now()));
    };
    return {
      change(change, t) {
        tracker = t;
        if (change.kind === "log") {
          if (logs) pending.push(`${style.dim(`${change.name}@${change.builder}>`)} ${change.line}`);
        } else if (
          change.kind === "failed" ||
          change.kind === "abandoned" ||
          (change.kind === "message" && change.level <= 1)
        ) {
          const line = formatChange(change, { style, verbose, logs });
          if (line) pending.push(line);
        }
        flushTimer ??= setTimeout(draw, 1000 / 10);
      },
      end(t, outcome) {
        clearInterval(tick);
        clearTimeout(flushTimer);
        tracker = t;
        if (live) {
          if (pending.length) live.print(...pending);
          live.end(t.view(Date.now()));
        } else if (pending.length) ctx.warn(pending.join("\n"));
        if (outcome.exitCode !== 0 || outcome.interrupted) ctx.warn(summary(t, outcome.seconds).join("\n"));
      },
    };
  }
  const groups = ctx.host.env["GITHUB_ACTIONS"] === "true" ? new ActionsGroups(logs) : null;
  return {
    change(change) {
      const line = formatChange(change, { style, verbose, logs: logs && !groups });
      for (const out of groups ? groups.feed(change, line) : line ? [line] : []) ctx.warn(out);
    },
    end(t, outcome) {
      if (outcome.exitCode !== 0 || outcome.interrupted) ctx.warn(summary(t, outcome.seconds).join("\n"));
    },
  };
}

function renderResult(result: BuildResult, verbose: boolean): string {
  const style = makeStyle(false);
  return [
    ...result.outputs,
    ...(result.outputs.length ? [""] : []),
    ...formatSummary(
      {
        builds: result.builds.map((b) => ({
          drv: b.drv,
          name: b.name,
          builder: b.builder,
          outcome: b.outcome,
          startedMs: 0,
          endedMs: b.seconds === null ? null : b.seconds * 1000,
          copyInMs: b.copyInMs,
          copyOutMs: b.copyOutMs,
          bytesIn: 0,
          bytesOut: 0,
          activity: "",
        })),
        fetched: result.fetched.map((f) => ({ ...f, name: f.path, startedMs: 0, endedMs: 0 })),
        notStarted: [],
        seconds: result.seconds,
        fetchedBytes: result.fetchedBytes,
      },
      style,
      verbose,
    ),
  ].join("\n");
}

const build: Handler = async (ctx, { args, options, passthrough }) => {
  const { system, builder } = parseBuildOptions(options);
  await ensureVmsRunning(ctx, { start: flagOption(options, "startVms") });
  const logs =
    passthrough.includes("-L") || passthrough.includes("--print-build-logs") || options["printBuildLogs"] === true;
  const result = await runBuild(
    ctx,
    { installables: args, passthrough, system, builder, timeoutSeconds: ctx.options.timeout },
    makeObserver(ctx, logs),
  );
  return { json: result, text: renderResult(result, ctx.options.verbose) };
};

export default build;
