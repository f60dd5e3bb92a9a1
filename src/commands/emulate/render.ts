// Text for `emulate enable|disable|status` results.
import type { EmulateResult } from "../../app/emulation/emulate.js";
import type { EmulationStatusResult } from "../../app/emulation/status.js";
import { describeOutcome } from "../../app/plan-runner.js";

const STATE_TEXT: Record<string, string> = {
  ready: "ready",
  "not-configured": "interpreter registered, not in extra-platforms",
  "no-interpreter": "no interpreter registered",
  "configured-without-interpreter": "in extra-platforms but NO interpreter: builds fail with exit 126",
};

export function renderEmulate(result: EmulateResult): string {
  if (result.nixosSnippet !== null) {
    return [
      "NixOS registers the interpreters and sets extra-platforms itself; nothing was written.",
      "Put this in your configuration.nix and run nixos-rebuild switch:",
      "",
      `  ${result.nixosSnippet}`,
    ].join("\n");
  }
  const lines: string[] = [];
  const outcome = result.outcome;
  if (outcome?.noop) {
    lines.push(
      `${result.systems.join(", ")} ${result.mode === "enable" ? "already in" : "not in"} extra-platforms here; nothing to change.`,
    );
  } else if (outcome) lines.push(describeOutcome(outcome));
  for (const p of result.proofs) {
    lines.push(
      p.ok
        ? `Built ${p.system} on this machine through QEMU in ${p.seconds.toFixed(1)} s.`
        : `The ${p.system} build on this machine FAILED: ${p.detail}`,
    );
  }
  for (const s of result.unproved) lines.push(`No probe program for ${s}; build something for it to check.`);
  return lines.filter(Boolean).join("\n");
}

export function renderEmulationStatus(result: EmulationStatusResult): string {
  const lines = [
    `Host: ${result.hostSystem}; binfmt_misc ${result.binfmt.mounted ? (result.binfmt.enabled ? "mounted, enabled" : "mounted, DISABLED") : "NOT mounted"}; sandbox ${result.sandbox ? "on" : "off"}`,
    `extra-platforms (as the daemon reads it): ${result.extraPlatforms.join(" ") || "(none)"}`,
  ];
  if (result.systems.length === 0) lines.push("No emulated system is registered or configured.");
  for (const s of result.systems) {
    const entry = s.entry
      ? `${s.entry.name} → ${s.entry.interpreter} (flags ${s.entry.flags || "none"}${s.entry.enabled ? "" : ", disabled"}${s.interpreterExists ? "" : ", MISSING"})`
      : "no binfmt_misc entry";
    lines.push(`  ${s.system.padEnd(18)} ${STATE_TEXT[s.state]}; ${entry}`);
  }
  if (result.systems.some((s) => s.state !== "ready") && result.install) lines.push(`Interpreters: ${result.install}`);
  return lines.join("\n");
}
