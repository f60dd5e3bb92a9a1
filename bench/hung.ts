// Benchmark 2, a hung builder: `crossnix doctor --no-build --timeout 3` over 8 builders, one of
// whose sshd is stopped with SIGSTOP (TCP connects, no SSH banner ever comes).
import * as fs from "node:fs";
import path from "node:path";
import { type Fleet, NIX_CMD, REPO, traceRun } from "./fleet.js";
import { fmtMs, measureInterleaved, row, ROW_HEADERS, type Section, type Summary, table } from "./stats.js";

const TIMEOUT_S = 3;
const COUNT = 8;

export function doctorBuilt(): boolean {
  return (
    fs.existsSync(path.join(REPO, "dist/commands/doctor/index.js")) ||
    fs.existsSync(path.join(REPO, "dist/commands/doctor.js"))
  );
}

interface DoctorJson {
  checks: { id: string; builder?: string; status: string; observed: string }[];
}

export async function hungBench(fleet: Fleet, runs: number, log: (l: string) => void): Promise<Section> {
  const title = `Hung builder (\`crossnix doctor --no-build --timeout ${TIMEOUT_S}\`, ${COUNT} builders, one SIGSTOPped)`;
  if (!doctorBuilt() || (await fleet.crossnix(["doctor", "--help"], { ok: [0, 1, 2] })).exitCode !== 0) {
    return {
      title,
      body: ["Not measured: doctor not built yet (no `crossnix doctor` in dist/)."],
      targets: [{ text: `finishes within --timeout + 2 s`, pass: false, detail: "not measured: doctor not built yet" }],
    };
  }
  const names = fleet.names.slice(0, COUNT);
  const hungName = names.at(-1)!;
  const hung = fleet.builders[COUNT - 1]!;
  await fleet.enableOnly(names);
  const doctorArgs = ["doctor", "--json", "--no-build", "--timeout", String(TIMEOUT_S)];
  const doctor = async (expectHung: boolean) => {
    const r = await fleet.crossnix(doctorArgs, { ok: [0, 1], timeoutMs: 60_000 });
    const doc = JSON.parse(r.stdout) as DoctorJson;
    const failing = doc.checks.filter((c) => c.status === "fail").map((c) => c.builder ?? c.id);
    if (expectHung !== failing.includes(hungName)) {
      throw new Error(
        `doctor ${expectHung ? "did not report" : "reported"} ${hungName} failing: ${JSON.stringify(doc.checks.filter((c) => c.status === "fail"))}`,
      );
    }
    return failing;
  };
  // The plain alternative: Nix reaching the hung builder, bounded only by the alias's ConnectTimeout.
  const ping = () =>
    fleet.run(
      [
        "nix",
        ...NIX_CMD,
        "store",
        "ping",
        "--store",
        `ssh-ng://${hungName}?base64-ssh-public-host-key=${hung.hostKeyBase64}`,
      ],
      { ok: [1], timeoutMs: 60_000 },
    );

  log(`hung builder: doctor over ${COUNT} healthy builders, ${runs} runs`);
  const healthy = await measureInterleaved({ healthy: () => doctor(false) }, runs, log);
  await hung.setFault("hung");
  let s: Record<string, Summary>;
  let trace: Awaited<ReturnType<typeof traceRun>>;
  try {
    log(`hung builder: ${hungName} SIGSTOPped, ${runs} runs`);
    // No warm-up round here: the healthy runs warmed everything, and a ping costs the full 10 s.
    s = { ...healthy, ...(await measureInterleaved({ hung: () => doctor(true), ping }, runs, log, false)) };
    trace = await traceRun(fleet, [process.execPath, `${REPO}/dist/cli.js`, ...doctorArgs], { ok: [1] });
  } finally {
    await hung.setFault("hung", false);
  }
  const ssh = trace.calls.filter((c) => c.program === "ssh");
  const nix = trace.calls.filter((c) => c.program === "nix");
  const wall = trace.wallMs;
  const toHung = ssh.filter((c) => c.args.includes(hungName) || c.args.includes(hung.address));
  const hungStart = toHung.length ? Math.min(...toHung.map((c) => c.startMs)) : 0;
  const hungEnd = toHung.length ? Math.max(...toHung.map((c) => c.endMs ?? wall)) : 0;
  const others = ssh.filter((c) => !toHung.includes(c));
  const othersEnd = Math.max(0, ...others.map((c) => c.endMs ?? wall));
  const limit = (TIMEOUT_S + 2) * 1000;
  const h = s["hung"]!;
  const pass = h.max <= limit;
  const rows = [
    row(`doctor, ${COUNT} healthy builders`, s["healthy"]!),
    row(`doctor, ${hungName} hung`, h, s["healthy"], "of healthy"),
    row(`plain: \`nix store ping\` to the hung ${hungName} (alias ConnectTimeout 10)`, s["ping"]!, h, "of doctor"),
  ];
  const ms = (x: number) => fmtMs(x);
  const phases = [
    [
      `\`nix\` (${nix.length} call${nix.length === 1 ? "" : "s"})`,
      nix.length ? ms(nix[0]!.startMs) : "—",
      nix.length ? ms(Math.max(...nix.map((c) => c.endMs ?? wall))) : "—",
    ],
    [
      `\`ssh\` for the ${COUNT - 1} healthy builders (${others.length} calls)`,
      ms(Math.min(wall, ...others.map((c) => c.startMs))),
      ms(othersEnd),
    ],
    [
      `\`ssh\` for the hung ${hungName} (${toHung.map((c) => `\`${c.args.split(" ").slice(0, 3).join(" ")}\``).join("; ") || "none"})`,
      ms(hungStart),
      hungEnd >= wall ? `${ms(wall)} (killed)` : ms(hungEnd),
    ],
    [
      `${hungName}: crossnix itself waiting for the SSH banner (no subprocess), until --timeout ends it`,
      ms(Math.min(hungEnd, wall)),
      ms(wall),
    ],
    ["the whole run", "0 ms", ms(wall)],
  ];
  const dominated = `${hungName}'s checks started at ${ms(hungStart)} and the run ended at ${ms(wall)}: the --timeout of ${TIMEOUT_S} s is the whole of it; the healthy builders were done by ${ms(othersEnd)}`;
  return {
    title,
    body: [
      `${COUNT} registered builders (the rest disabled with \`crossnix builder disable\`); ${hungName}'s sshd gets SIGSTOP, so TCP connects and no SSH banner comes. ` +
        `The target must hold for every run, so it is checked against the slowest (max), not the median. The hung runs have no warm-up round (the healthy ones warmed everything up).`,
      "",
      table(ROW_HEADERS, rows),
      "",
      "Where one hung run's time goes (`nix` and `ssh` replaced on PATH by logging shims for one extra run; ms from the start of the run):",
      "",
      table(["part", "from", "until"], phases),
    ],
    targets: [
      {
        text: `doctor with a hung builder finishes within --timeout + 2 s (${fmtMs(limit)})`,
        pass,
        detail: `median ${fmtMs(h.median)}, slowest ${fmtMs(h.max)}${pass ? "" : `; ${dominated}`}`,
      },
    ],
  };
}
