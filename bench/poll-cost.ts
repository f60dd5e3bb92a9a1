// Benchmark 6, what build-poll-interval 0 costs against 1: wall time and the local daemon's CPU
// (the daemon, its per-client daemons, build hooks and their ssh, counted by a cgroup) for the
// 12 × 1 s batch and for a chatty batch whose builds print a line every few milliseconds: with 0,
// every chunk of output wakes the worker and retries every derivation waiting for a slot
// (docs/scheduling.md#poll-interval).
import { accountCpu, newNonce } from "#testbed";
import { batchArgs, type Fleet } from "./fleet.js";
import { fmtMs, fmtRange, type Section, type Summary, summarize, table, type Target } from "./stats.js";

const COUNT = 12;
/** Lines each chatty build prints, one every CHATTY_SLEEP seconds (plus a fork of sleep). */
const CHATTY_LINES = Number(process.env["POLL_CHATTY_LINES"] ?? 400);
const CHATTY_SLEEP = "0.002";
/** How many chatty derivations: with 2 slots, the rest wait, and each waiting one is retried. */
const CHATTY_COUNT = Number(process.env["POLL_CHATTY_COUNT"] ?? COUNT);

/** `count` x86_64 derivations that each print `lines` lines, spaced out so each is its own chunk. */
function chattyExpression(nonce: string, count: number, lines: number): string {
  const script = `i=0; while [ $i -lt ${lines} ]; do echo 'chatty '$i': cc -O2 -c src/module.c -o build/module.o -Iinclude -DNDEBUG'; /usr/bin/sleep ${CHATTY_SLEEP}; i=$((i+1)); done; echo done > $out`;
  const one = (i: number) =>
    `(derivation { name = "cx-chatty-${nonce}-${i}"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "${script}" ]; })`;
  return `[ ${Array.from({ length: count }, (_, i) => one(i)).join(" ")} ]`;
}

interface Sample {
  ms: number;
  cpuMs: number;
}

export interface PollCost {
  quiet: Record<"0" | "1", { wall: Summary; cpu: Summary }>;
  chatty: Record<"0" | "1", { wall: Summary; cpu: Summary }>;
}

export async function pollCostBench(fleet: Fleet, runs: number, log: (l: string) => void): Promise<Section> {
  const { sandbox } = fleet;
  const [n1] = fleet.names as [string];
  await fleet.enableOnly([n1]);
  const conf = () => sandbox.readFile("/etc/nix/nix.conf").replace(/^build-poll-interval.*\n/gm, "");
  // The issue's case: 2 slots (what `builder add` writes for this 2-CPU machine), speed factor 1.
  sandbox.writeFile(
    "/etc/nix/machines",
    sandbox
      .readFile("/etc/nix/machines")
      .replace(new RegExp(`^(ssh-ng://\\S+ \\S+ \\S+) \\d+ \\d+(.*# crossnix:${n1})$`, "m"), "$1 2 1$2"),
  );

  const once = async (poll: 0 | 1, argv: string[]): Promise<Sample> => {
    sandbox.writeFile("/etc/nix/nix.conf", `${conf()}build-poll-interval = ${poll}\n`);
    await sandbox.restartDaemon();
    const pid = sandbox.daemonPid;
    if (pid === undefined) throw new Error("the local daemon is not running");
    const account = accountCpu(`poll${poll}`, [pid]);
    try {
      const t = performance.now();
      const r = await sandbox.runAsClient(argv, { timeoutMs: 300_000, env: { NO_COLOR: "1" } });
      const ms = performance.now() - t;
      if (r.exitCode !== 0) throw new Error(`${argv[0]} exited ${r.exitCode}: ${r.stderr.slice(-1500)}`);
      // The per-client daemon exits after the client: wait for it so its last CPU is counted.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { ms, cpuMs: account.usageMs() };
    } finally {
      account.remove();
    }
  };
  const quiet = () => ["nix", "--extra-experimental-features", "nix-command", "build", ...batchArgs(COUNT, 1)];
  const chatty = () => [
    "nix-build",
    "--no-out-link",
    "--expr",
    chattyExpression(newNonce().replace(/[^A-Za-z0-9]/g, ""), CHATTY_COUNT, CHATTY_LINES),
  ];
  const samples = {
    quiet: { "0": [] as Sample[], "1": [] as Sample[] },
    chatty: { "0": [] as Sample[], "1": [] as Sample[] },
  };
  for (let i = 0; i < runs; i++) {
    for (const [kind, argv] of [
      ["quiet", quiet],
      ["chatty", chatty],
    ] as const) {
      for (const poll of [1, 0] as const) {
        const s = await once(poll, argv());
        samples[kind][poll].push(s);
        log(`poll cost: run ${i + 1}/${runs} ${kind} poll ${poll}: ${fmtMs(s.ms)} wall, ${fmtMs(s.cpuMs)} daemon CPU`);
      }
    }
  }
  sandbox.writeFile("/etc/nix/nix.conf", conf());
  await sandbox.restartDaemon();
  const sum = (xs: Sample[]) => ({ wall: summarize(xs.map((x) => x.ms)), cpu: summarize(xs.map((x) => x.cpuMs)) });
  const result: PollCost = {
    quiet: { "0": sum(samples.quiet[0]), "1": sum(samples.quiet[1]) },
    chatty: { "0": sum(samples.chatty[0]), "1": sum(samples.chatty[1]) },
  };
  const rows = (["quiet", "chatty"] as const).flatMap((kind) =>
    (["1", "0"] as const).map((poll) => {
      const r = result[kind][poll];
      return [
        `${kind === "quiet" ? `${COUNT} × 1 s, quiet` : `${CHATTY_COUNT} chatty (${CHATTY_LINES} lines each)`}, poll ${poll}`,
        fmtMs(r.wall.median),
        fmtRange(r.wall),
        fmtMs(r.cpu.median),
        fmtRange(r.cpu),
        String(r.wall.n),
      ];
    }),
  );
  const extra = (kind: "quiet" | "chatty") => result[kind]["0"].cpu.median - result[kind]["1"].cpu.median;
  const targets: Target[] = [];
  log(`poll cost: extra daemon CPU with 0: quiet ${fmtMs(extra("quiet"))}, chatty ${fmtMs(extra("chatty"))}`);
  return {
    title: "build-poll-interval 0 against 1: wall time and the daemon's CPU",
    body: [
      `One builder (${n1}) with 2 slots, as the non-trusted client through the root daemon. Daemon CPU is everything the local nix-daemon and what it starts (per-client daemons, build hooks, their ssh) used, counted by a cgroup (testbed/cpu-account.ts). Chatty builds are x86_64-linux shells printing a compiler-like line every ${CHATTY_SLEEP} s.`,
      "",
      table(["what", "wall median", "wall min–max", "daemon CPU median", "CPU min–max", "n"], rows),
    ],
    targets,
  };
}
