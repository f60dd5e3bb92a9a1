// Benchmark 1, probe fan-out: `crossnix builder probe` over 1, 4 and 16 builders against a
// sequential loop of `nix store ping` over the same builders, and the floor (one `ssh <alias> true`).
import os from "node:os";
import { type CpuUse, type Fleet, NIX_CMD, withCpu } from "./fleet.js";
import { fmtMs, measureInterleaved, ROW_HEADERS, row, type Section, summarize, table, timed } from "./stats.js";

const KNOWN_HOSTS = "/root/.ssh/bench_known_hosts";

export async function probeBench(fleet: Fleet, runs: number, log: (l: string) => void): Promise<Section> {
  const { builders, names } = fleet;
  // Nix hands ssh the machines file's pinned key as a known_hosts file; the plain commands get the
  // same pin: `?base64-ssh-public-host-key=` for nix, UserKnownHostsFile for ssh.
  fleet.sandbox.writeFile(KNOWN_HOSTS, builders.map((b, i) => `${names[i]} ${b.hostKey}\n`).join(""), 0o600);
  const storeUri = (i: number) => `ssh-ng://${names[i]}?base64-ssh-public-host-key=${builders[i]!.hostKeyBase64}`;
  const loop = (k: number) =>
    fleet.run([
      "sh",
      "-ec",
      `for s in "$@"; do nix ${NIX_CMD.join(" ")} store ping --store "$s" >/dev/null; done`,
      "sh",
      ...names.slice(0, k).map((_, i) => storeUri(i)),
    ]);
  const probe = async (k: number) => {
    const r = await fleet.crossnix(["builder", "probe", "--json", ...names.slice(0, k)]);
    const ok = (JSON.parse(r.stdout) as { builders: { ok: boolean }[] }).builders.filter((b) => b.ok).length;
    if (ok !== k) throw new Error(`probe answered for ${ok} of ${k} builders`);
  };

  const sizes = [1, 4, 16].filter((k) => k <= names.length);
  const top = sizes.at(-1)!;
  const cpu: Record<string, CpuUse[]> = {};
  const accounted = (key: string, fn: () => Promise<unknown>) => async () => {
    const { ms, cpu: use } = await withCpu(builders, fn);
    cpu[key] = [...(cpu[key] ?? []), use];
    return ms;
  };
  const variants: Record<string, () => Promise<unknown>> = {
    harness: () => fleet.run(["/bin/true"]),
    floor: accounted("floor", () => fleet.run(["ssh", "-o", `UserKnownHostsFile=${KNOWN_HOSTS}`, names[0]!, "true"])),
    // OpenSSH 9.x negotiates sntrup761x25519 by default; the classical exchange shows its share.
    floorCurve: accounted("floorCurve", () =>
      fleet.run([
        "ssh",
        "-o",
        `UserKnownHostsFile=${KNOWN_HOSTS}`,
        "-o",
        "KexAlgorithms=curve25519-sha256",
        names[0]!,
        "true",
      ]),
    ),
  };
  for (const k of sizes) {
    variants[`probe${k}`] = accounted(`probe${k}`, () => probe(k));
    variants[`loop${k}`] = accounted(`loop${k}`, () => loop(k));
  }
  log(`probe fan-out: ${sizes.join(", ")} builders, ${runs} runs each`);
  const s = await measureInterleaved(variants, runs, log);
  const steps = await probeSteps(fleet, runs);

  const rows: string[][] = [
    row("sandbox harness: `/bin/true` (included in every figure below)", s["harness"]!),
    row("floor: one `ssh <alias> true`", s["floor"]!),
    row(
      "for comparison: the same with `-o KexAlgorithms=curve25519-sha256`",
      s["floorCurve"]!,
      s["floor"],
      "of the floor",
    ),
  ];
  for (const k of sizes) {
    rows.push(
      row(`\`crossnix builder probe\`, ${k} builder${k > 1 ? "s" : ""}`, s[`probe${k}`]!, s[`loop${k}`], "of the loop"),
    );
    rows.push(row(`sequential \`nix store ping\` loop, ${k}`, s[`loop${k}`]!, s["floor"], "of the floor"));
  }

  const med = (key: string, f: (c: CpuUse) => number) => summarize(cpu[key]!.map(f)).median;
  const othersMs = (c: CpuUse) => [...c.others.values()].reduce((a, b) => a + b, 0);
  /** The other processes that used the most CPU in a variant's runs (median per run, by name). */
  const topOthers = (key: string) => {
    const names = new Set(cpu[key]!.flatMap((c) => [...c.others.keys()]));
    return [...names]
      .map((name) => [name, med(key, (c) => c.others.get(name) ?? 0)] as const)
      .filter(([, ms]) => ms >= 10)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 2)
      .map(([name, ms]) => `${name} ${fmtMs(ms)}`)
      .join(", ");
  };
  const cpuRows = Object.keys(cpu).map((key) => {
    const label =
      key === "floor"
        ? "floor: `ssh <alias> true`"
        : key === "floorCurve"
          ? "… with curve25519-sha256"
          : key.startsWith("probe")
            ? `crossnix probe, ${key.slice(5)}`
            : `nix store ping loop, ${key.slice(4)}`;
    const top = topOthers(key);
    return [
      label,
      fmtMs(s[key]!.median),
      fmtMs(med(key, (c) => c.clientMs)),
      fmtMs(med(key, (c) => c.buildersMs)),
      `${fmtMs(med(key, othersMs))}${top ? ` (${top})` : ""}`,
      `${(100 * med(key, (c) => c.machineBusyMs / c.machineCapacityMs)).toFixed(0)}%`,
    ];
  });

  const p1 = s["probe1"]!.median;
  const pTop = s[`probe${top}`]!.median;
  const loopTop = s[`loop${top}`]!.median;
  const cores = os.availableParallelism();
  const topCpu = med(`probe${top}`, (c) => c.clientMs + c.buildersMs);
  const clientTop = med(`probe${top}`, (c) => c.clientMs);
  const floorClient = med("floor", (c) => c.clientMs);
  const curveClient = med("floorCurve", (c) => c.clientMs);
  const busyTop = med(`probe${top}`, (c) => c.machineBusyMs / c.machineCapacityMs);
  const othersTop = med(`probe${top}`, othersMs);
  const bound = topCpu / cores;
  const share = (budget: number) =>
    bound > budget
      ? `more than the ${fmtMs(budget)}`
      : `${((100 * bound) / budget).toFixed(0)}% of the ${fmtMs(budget)}`;
  const dominates =
    `**What dominates the ${top}-builder probe: CPU.** The machine's ${cores} cores were ${(100 * busyTop).toFixed(0)}% busy during it. ` +
    `The probe's own work took ${fmtMs(topCpu)} of CPU: ${fmtMs(clientTop)} on the client (crossnix's node process and ${top} ssh clients; one ssh connection costs its client ` +
    `${fmtMs(floorClient)} of CPU with OpenSSH's default sntrup761x25519 key exchange, ${fmtMs(curveClient)} with curve25519-sha256) and ${fmtMs(topCpu - clientTop)} on the builder side ` +
    `(sshd sessions, the shell and the probe script's ${steps.nixCalls} nix processes each; these builders share this machine's cores, real ones would not). ` +
    `On ${cores} cores that alone takes at least ${fmtMs(bound)}: ${share(3 * p1)} that ${top}/1 ≤ 3× allows, ${share(0.3 * loopTop)} that ≤ 0.3× the loop allows. ` +
    `Other processes on the machine took ${fmtMs(othersTop)} of CPU meanwhile (${topOthers(`probe${top}`) || "none above 10 ms"}). ` +
    `The loop does less per builder: \`nix store ping\` starts only \`nix-daemon --stdio\` there, where the probe runs ${steps.nixCalls} nix processes ` +
    `(${fmtMs(steps.nixMs)} together, timed alone below; the trust queries run only on builders with a daemon socket).`;
  const scale = pTop / p1;
  const vsLoop = pTop / loopTop;
  return {
    title: "Probe fan-out",
    body: [
      `Every builder is a loopback sshd with its own user and /nix store on this machine, registered with \`crossnix builder add\`. ` +
        `Commands run as root in the test bed's sandbox root (root's ssh alias, the machines file's pinned host keys). ` +
        `The loop is \`for s in …; do nix store ping --store 'ssh-ng://<alias>?base64-ssh-public-host-key=…'; done\` in one shell.`,
      "",
      table(ROW_HEADERS, rows),
      "",
      "CPU used per run (medians, from /proc). Client: everything the timed command ran here (crossnix or the loop, with their ssh and nix processes). " +
        "Builder side: every builder's sshd, its sessions and what they ran (sessions end as orphans that init reaps lazily: counted as zombies, then from init's children time). " +
        "Other processes: everything else on the machine meanwhile, by command name (process_api is this VM's agent; kworker, kernel threads). Machine busy: over the timed run.",
      "",
      table(["run", "wall", "client", "builder side", "other processes on the machine", "machine busy"], cpuRows),
      "",
      `The probe script's pieces, each run alone on builder n1 as its user without ssh (median of ${runs}; each includes ~the shell-start row's cost of entering the builder):`,
      "",
      table(["step", "median"], steps.rows),
      "",
      ...(scale > 3 || vsLoop > 0.3 ? [dominates] : []),
    ],
    targets: [
      {
        text: `${top} builders ≤ 3× the time of 1`,
        pass: scale <= 3,
        detail: `${fmtMs(pTop)} vs ${fmtMs(p1)} = ${scale.toFixed(2)}×${scale <= 3 ? "" : ' (CPU-bound: see "What dominates" under Probe fan-out)'}`,
      },
      {
        text: `${top} builders ≤ 0.3× the sequential \`nix store ping\` loop`,
        pass: vsLoop <= 0.3,
        detail: `${fmtMs(pTop)} vs ${fmtMs(loopTop)} = ${vsLoop.toFixed(2)}×${vsLoop <= 0.3 ? "" : ' (CPU-bound: see "What dominates" under Probe fan-out)'}`,
      },
    ],
  };
}

/** The probe script's pieces, each run on builder 1 directly (no ssh), so the cost of each is visible. */
async function probeSteps(fleet: Fleet, runs: number): Promise<{ rows: string[][]; nixCalls: number; nixMs: number }> {
  const b = fleet.builders[0]!;
  const quiet = (cmd: string) => ["sh", "-c", `${cmd} >/dev/null 2>&1; true`];
  const nix = (args: string) => quiet(`nix ${NIX_CMD.join(" ")} ${args}`);
  const steps: [string, string[], boolean][] = [
    ["`sh -c true` (entering the builder + shell start)", quiet("true"), false],
    ["`nix --version`", quiet("nix --version"), true],
    ["`nix show-config`", nix("show-config"), true],
    ["`nix config show` (only where show-config is gone; absent in 2.8)", nix("config show"), false],
    [
      "`nix store info --store daemon` (only with a daemon socket; absent in 2.8)",
      nix("store info --json --store daemon"),
      false,
    ],
    [
      "`nix store ping --store daemon` (its fallback, only with a daemon socket)",
      nix("store ping --json --store daemon"),
      false,
    ],
    [
      "`nix-daemon --stdio`, start and exit (what `nix store ping` runs there)",
      quiet("nix-daemon --stdio </dev/null"),
      false,
    ],
  ];
  const rows: string[][] = [];
  let nixMs = 0;
  for (const [label, argv, inProbe] of steps) {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) samples.push((await timed(() => b.exec(argv))).ms);
    const median = summarize(samples).median;
    if (inProbe) nixMs += median;
    rows.push([label, fmtMs(median)]);
  }
  return { rows, nixCalls: steps.filter((s) => s[2]).length, nixMs };
}
