// The build view on a terminal, drawn with ink: one line per builder, one for local work, one for
// the queue and a status line, redrawn in place (at most 10 times a second, in one write each);
// with -L, build logs scroll above it. Lines are cut at the terminal's width, never wrapped.
import { Box, render, Static, Text } from "ink";
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

/** The live region: one plain line per builder, local, queue, then the status line. */
function Live({ view, logs, rows }: { view: BuildView; logs: { id: number; text: string }[]; rows: number }) {
  const region = [...liveLines(view, rows).map((l) => `${l.label} ${l.text}`), totalsLine(view)];
  return (
    <>
      {logs.length > 0 && <Static items={logs}>{(l) => <Text key={l.id}>{l.text}</Text>}</Static>}
      <Box flexDirection="column">
        {region.map((line, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the region's lines are positional.
          <Text key={i} wrap="truncate-end">
            {line}
          </Text>
        ))}
      </Box>
    </>
  );
}

export interface LiveView {
  /** Redraw with this picture (ink drops frames beyond 10 a second). */
  update(view: BuildView): void;
  /** A line printed above the live region for good (-L logs, failures). */
  print(text: string): void;
  /** Draw the last picture and leave it on screen. */
  end(view: BuildView): void;
}

export function startLiveView(stream: NodeJS.WriteStream): LiveView {
  let logs: { id: number; text: string }[] = [];
  let nextId = 0;
  let last: BuildView | null = null;
  let drawn = "";
  /** What the region shows, to skip a redraw that would change nothing. */
  const key = (view: BuildView) => JSON.stringify([liveLines(view, stream.rows ?? 0), totalsLine(view)]);
  const element = (view: BuildView) => <Live view={view} logs={logs} rows={stream.rows ?? 0} />;
  const empty: BuildView = {
    builders: [],
    local: [],
    queue: { waiting: 0, fetching: [] },
    totals: { built: 0, failed: 0, fetched: 0, fetchedBytes: 0, toGo: 0, elapsedMs: 0, etaMs: null },
  };
  const instance = render(element(empty), {
    stdout: stream,
    stderr: stream,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: MAX_FPS,
    // ink 6.8's incremental mode left every frame's changed lines on screen under tmux (seen in
    // tests/integration/build-view.test.ts); the default rewrites the region in one write.
    incrementalRendering: false,
  });
  return {
    update(view) {
      last = view;
      const now = key(view);
      if (now === drawn) return;
      drawn = now;
      instance.rerender(element(view));
    },
    print(text) {
      logs = [...logs, { id: nextId++, text }];
      instance.rerender(element(last ?? empty));
    },
    end(view) {
      instance.rerender(element(view));
      instance.unmount();
    },
  };
}
