// The build view on a terminal, drawn with ink: one line per builder, one for local work, one for
// the queue and a status line, redrawn in place (at most 10 times a second, in one write each);
// with -L, build logs scroll above it. Lines are cut at the terminal's width, never wrapped.
import { Box, render, Static, Text } from "ink";
import { memo } from "react";
import type { BuildView } from "../core/build/fleet-state.js";
import { formatBytes, formatSeconds, formatTotals } from "./build-lines.js";

const MAX_FPS = 10;

interface Item {
  name: string;
  elapsedMs: number;
  activity: string;
}

/** Whole seconds on the live view, so a line changes (and is redrawn) at most once a second. */
const wholeSeconds = (ms: number) => formatSeconds(Math.floor(ms / 1000) * 1000).replace(/\.0 s$/, " s");

const describe = (items: Item[]) =>
  items
    .map((b) => `${b.name} ${wholeSeconds(b.elapsedMs)}${b.activity === "building" ? "" : ` (${b.activity})`}`)
    .join(" · ");

/** The lines of the live region, as plain text (also what the tests compare with the screen). */
export function liveLines(view: BuildView, rows = 0): { label: string; text: string }[] {
  const width = Math.max(5, ...view.builders.map((b) => b.name.length));
  const pad = (s: string) => s.padEnd(width);
  // The region must stay shorter than the terminal: ink clears the whole screen (scrollback too)
  // to draw a taller one. Busy builders first; the rest are summed up on one line.
  const room = rows > 0 ? Math.max(1, rows - 1 - 3) : Number.POSITIVE_INFINITY;
  let shown = view.builders;
  let hidden: BuildView["builders"] = [];
  if (shown.length > room) {
    const order = [...view.builders].sort((a, b) => Number(b.busy > 0) - Number(a.busy > 0));
    shown = order.slice(0, room - 1);
    hidden = order.slice(room - 1);
  }
  const lines = shown.map((b) => ({
    label: `${pad(b.name)} ${`${b.busy}/${b.max}`.padStart(5)}`,
    text: b.builds.length ? describe(b.builds) : "idle",
  }));
  if (hidden.length) {
    const busy = hidden.filter((b) => b.busy > 0).length;
    lines.push({ label: `${pad("…")}      `, text: `${hidden.length} more builders, ${busy} busy` });
  }
  lines.push({ label: `${pad("local")}      `, text: view.local.length ? describe(view.local) : "idle" });
  const queue = [
    ...(view.queue.waiting ? [`${view.queue.waiting} waiting for a free builder`] : []),
    ...view.queue.fetching.map(
      (f) =>
        `${f.count} fetching from ${f.from}${f.bytesPerSecond === null ? "" : ` ${formatBytes(f.bytesPerSecond)}/s`}`,
    ),
  ];
  lines.push({ label: `${pad("queue")}      `, text: queue.length ? queue.join(" · ") : "empty" });
  return lines;
}

/** The status line, with elapsed time in whole seconds like the rest of the view. */
const totalsLine = (view: BuildView) =>
  formatTotals({ ...view, totals: { ...view.totals, elapsedMs: Math.floor(view.totals.elapsedMs / 1000) * 1000 } });

/** The live region's text lines: builders, local, queue, then the status line. */
export function regionLines(view: BuildView, rows: number): string[] {
  return [...liveLines(view, rows).map((l) => `${l.label} ${l.text}`), totalsLine(view)];
}

/** One line of the region; React skips the lines whose text did not change. */
const Line = memo(function Line({ text }: { text: string }) {
  return <Text wrap="truncate-end">{text}</Text>;
});

/** The live region (one plain line each), with -L logs and failures printed above it for good. */
function Live({ region, logs }: { region: string[]; logs: { batch: number; lines: { id: number; text: string }[] } }) {
  return (
    <>
      {/* A new Static per batch prints only that batch: the lines already printed are not kept. */}
      {logs.lines.length > 0 && (
        <Static key={logs.batch} items={logs.lines}>
          {(l) => <Text key={l.id}>{l.text}</Text>}
        </Static>
      )}
      <Box flexDirection="column">
        {region.map((line, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the region's lines are positional.
          <Line key={i} text={line} />
        ))}
      </Box>
    </>
  );
}

export interface LiveView {
  /** Redraw with this picture, if what it shows changed (ink drops frames beyond 10 a second). */
  update(view: BuildView): void;
  /** Lines printed above the live region for good (-L logs, failures), drawn with the next update. */
  print(...lines: string[]): void;
  /** Draw the last picture and leave it on screen. */
  end(view: BuildView): void;
}

export function startLiveView(stream: NodeJS.WriteStream): LiveView {
  let logs: { batch: number; lines: { id: number; text: string }[] } = { batch: 0, lines: [] };
  let nextId = 0;
  let printed = false;
  let region: string[] = [];
  /** What the region shows, to skip a redraw that would change nothing. */
  let drawn = "";
  const element = () => <Live region={region} logs={logs} />;
  const instance = render(element(), {
    stdout: stream,
    stderr: stream,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: MAX_FPS,
    // ink 6.8's incremental mode left every frame's changed lines on screen under tmux (seen in
    // tests/integration/build-view.test.ts); the default rewrites the region in one write.
    incrementalRendering: false,
  });
  const draw = (view: BuildView, force: boolean) => {
    region = regionLines(view, stream.rows ?? 0);
    const now = region.join("\n");
    if (now === drawn && !printed && !force) return;
    drawn = now;
    instance.rerender(element());
    if (printed) logs = { batch: logs.batch + 1, lines: [] };
    printed = false;
  };
  return {
    update: (view) => draw(view, false),
    print(...lines) {
      logs.lines.push(...lines.map((text) => ({ id: nextId++, text })));
      printed = true;
    },
    end(view) {
      draw(view, true);
      instance.unmount();
    },
  };
}
