// Benchmark 7, `crossnix bench --compare` on the loopback test bed: the guide's comparison table,
// measured. Two SSH builders (one held to a quarter CPU by a cgroup quota), this machine, and
// aarch64-linux through qemu-user after `crossnix emulate enable`; the native builder is macOS-only.
import { type Builder, limitCpu } from "#testbed";
import type { Fleet } from "./fleet.js";
import type { CompareResult } from "../src/app/bench/compare.js";
import { renderCompare } from "../src/commands/bench/render-compare.js";
import { makeStyle } from "../src/ui/style.js";
import type { Section, Target } from "./stats.js";

export async function compareBench(fleet: Fleet, runs: number, log: (l: string) => void): Promise<Section> {
  const [n1, n2] = fleet.names as [string, string];
  const [, b2] = fleet.builders as [Builder, Builder];
  await fleet.enableOnly([n1, n2]);
  const conf = fleet.sandbox.readFile("/etc/nix/nix.conf");
  log("compare: crossnix emulate enable aarch64-linux");
  await fleet.crossnix(["emulate", "enable", "aarch64-linux", "--yes"], { timeoutMs: 300_000 });
  const quota = limitCpu(b2, 0.25);
  try {
    log(`compare: crossnix bench --compare --runs ${runs}`);
    const args = ["bench", "--compare", "--runs", String(runs), "--system", "x86_64-linux"];
    const result = JSON.parse(
      (await fleet.crossnix([...args, "--json"], { timeoutMs: 900_000 })).stdout,
    ) as CompareResult;
    // The table exactly as the command prints it without --json.
    const text = renderCompare(result, makeStyle(false));
    const json = result;
    const measured = new Set<string>(json.rows.filter((r) => r.measured).map((r) => r.approach));
    const targets: Target[] = [
      {
        text: "`bench --compare` measures every approach this machine has (SSH builders, this machine, emulation) and names the native builder's absence",
        pass:
          ["ssh-builder", "local", "emulation"].every((a) => measured.has(a)) &&
          json.rows.some((r) => r.approach === "native-builder"),
        detail: `measured: ${[...measured].join(", ")}; rows: ${json.rows.map((r) => r.approach).join(", ")}`,
      },
    ];
    return {
      title: "Approaches compared (bench --compare)",
      body: [
        `Loopback figures: both builders are sshd's on this machine (${n2} held to a quarter CPU by a cgroup quota), emulation is this machine's qemu-user after \`crossnix emulate enable aarch64-linux\`.`,
        "",
        "```console",
        `$ sudo crossnix ${args.join(" ")}`,
        text,
        "```",
      ],
      targets,
    };
  } finally {
    quota.remove();
    fleet.sandbox.writeFile("/etc/nix/nix.conf", conf);
    await fleet.sandbox.restartDaemon();
  }
}
