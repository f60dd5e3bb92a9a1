// Which approach `crossnix init` recommends for this machine, and why, from status and its resources
// (docs/approaches.md#which-approach).
import { atLeast } from "../nix/version.js";
import type { ApproachReport, StatusReport } from "./detect.js";
import { NATIVE } from "./footprints.js";
import { describeMeasurement, type MeasuredBuilder, totalRate } from "./measured.js";

export interface MachineResources {
  cpus: number;
  memoryGiB: number;
  /** limactl is on PATH. */
  lima: boolean;
}

export interface Recommendation {
  /** `native`, `lima`, `ssh:<dest>`, or `ssh` (a destination is still needed). */
  approach: string;
  reasons: string[];
  /** Other approaches that would also do, with why not first. */
  alternatives: { approach: string; why: string }[];
}

/** What crossnix bench last measured per builder name (bench.jsonl), and today's date to age it. */
export interface Measurements {
  builders: Map<string, MeasuredBuilder>;
  now: Date;
}

export function recommend(
  r: StatusReport,
  m: MachineResources,
  bench: Measurements = { builders: new Map(), now: new Date(0) },
): Recommendation {
  const reasons: string[] = [];
  const alternatives: Recommendation["alternatives"] = [];
  const working = r.approaches.filter((a) => a.state === "works" || a.state === "configured");
  const det = r.nix.determinate;
  const nativeCapable = det !== null && atLeast(det, NATIVE.minimumDeterminate);
  const darwin = r.system.endsWith("-darwin");
  const arm = r.system.startsWith("aarch64-");

  if (r.native.active) {
    return {
      approach: "native",
      reasons: ["the native builder already builds here (external-builders runs determinate-nixd)"],
      alternatives,
    };
  }
  const sshBuilders = working.filter((a) => a.id === "ssh");
  const ssh = fastest(sshBuilders, bench) ?? sshBuilders[0];
  const figures = (a: ApproachReport): string | null => {
    const measured = bench.builders.get(a.label.slice(a.label.indexOf(":") + 1));
    return measured ? describeMeasurement(measured, bench.now) : null;
  };
  if (nativeCapable && r.native.granted === true) {
    reasons.push(
      `Determinate Nix ${det} has the native builder and this account is granted it`,
      "no VM to look after, no SSH keys, both aarch64-linux and x86_64-linux",
    );
    if (ssh) {
      const measured = figures(ssh);
      alternatives.push({
        approach: ssh.label,
        why: `already configured; keep it as a second builder${measured ? ` (${measured})` : ""}`,
      });
    }
    return { approach: "native", reasons, alternatives };
  }
  if (nativeCapable) {
    alternatives.push({
      approach: "native",
      why:
        r.native.granted === false
          ? "not granted to this account (ask support@determinate.systems)"
          : "granted to accounts on request; crossnix native status tells",
    });
  }
  if (ssh) {
    reasons.push(`${ssh.label} is already configured (${ssh.systems.join(", ")})`);
    const measured = figures(ssh);
    if (measured) reasons.push(measured);
    const measuredCount = sshBuilders.filter((a) => bench.builders.get(a.label.slice(4))?.reason === null).length;
    if (measured && measuredCount > 1)
      reasons.push(`the fastest of the ${measuredCount} SSH builders crossnix bench measured`);
    return { approach: ssh.label, reasons, alternatives };
  }
  const manual = r.approaches.find((a) => a.id === "manual");
  if (manual) {
    const destination = manual.label.slice("manual:".length);
    reasons.push(
      `your hand-made setup (from a guide) names ${destination} for ${manual.systems.join(", ")}, but Nix reads no builder from it`,
      `crossnix migrate --from manual --to ssh:${destination} then retires the old lines`,
    );
    return { approach: `ssh:${destination}`, reasons, alternatives };
  }
  if (darwin && m.lima && m.cpus >= 4 && m.memoryGiB >= 8) {
    reasons.push(
      `Lima is installed and this Mac has ${m.cpus} CPUs and ${m.memoryGiB} GiB of memory: enough for a 4-CPU, 4 GiB builder VM`,
      arm
        ? "on Apple silicon the VM runs aarch64-linux natively and x86_64-linux through Rosetta"
        : "the VM runs x86_64-linux natively",
    );
    alternatives.push({ approach: "ssh", why: "a remote Linux machine, when you have one" });
    return { approach: "lima", reasons, alternatives };
  }
  reasons.push(
    darwin
      ? m.lima
        ? `this Mac has ${m.cpus} CPUs and ${m.memoryGiB} GiB: little room for a VM`
        : "Lima is not installed, so a remote Linux machine over SSH is the quickest way"
      : "a remote machine over SSH builds for the systems this one cannot",
  );
  if (darwin && !m.lima)
    alternatives.push({ approach: "lima", why: "install Lima (brew install lima) for a local VM" });
  return { approach: "ssh", reasons, alternatives };
}

/** The configured SSH builder with the highest measured rate, when any was measured. */
function fastest(builders: ApproachReport[], bench: Measurements): ApproachReport | undefined {
  let best: { a: ApproachReport; rate: number } | undefined;
  for (const a of builders) {
    const measured = bench.builders.get(a.label.slice("ssh:".length));
    if (!measured || measured.reason !== null) continue;
    const rate = totalRate(measured);
    if (!best || rate > best.rate) best = { a, rate };
  }
  return best?.a;
}
