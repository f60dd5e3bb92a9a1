// Checks a builder exactly as the Nix daemon will reach it: as root, with its key and the pinned host key.
import type { Context } from "../../context.js";
import { daemonSshTarget, findBuilder } from "../../core/builders/fleet.js";
import { probeBuilder } from "../../host/builders/probe.js";
import { loadConfigState } from "../../host/state.js";

/** After a change, connect exactly as the daemon will: root, the configured key, the pinned host key. */
export async function verifyAsDaemon(
  ctx: Pick<Context, "host" | "options" | "progress">,
  name: string,
): Promise<{ ok: boolean | null; message: string }> {
  if (ctx.options.dryRun) return { ok: null, message: "" };
  if (ctx.host.uid !== 0) {
    return { ok: null, message: `To check it as the Nix daemon connects, run: sudo crossnix builder probe ${name}` };
  }
  const state = await loadConfigState(ctx.host);
  const builder = findBuilder(state.fleet, name);
  if (!builder) return { ok: null, message: "" };
  ctx.progress(`Connecting to '${name}' as the Nix daemon will…`);
  const outcome = await probeBuilder(ctx.host, daemonSshTarget(builder), { timeoutSeconds: ctx.options.timeout });
  if (outcome.ok) {
    const f = outcome.facts;
    return {
      ok: true,
      message: `Verified: root reaches '${name}' with its key and the pinned host key (Nix ${f.nixVersion ?? "?"}, ${f.systems.join(", ")}).`,
    };
  }
  return {
    ok: false,
    message: `Not working yet: ${outcome.failure.summary} (${outcome.failure.evidence}).\nFix: ${outcome.failure.fix}`,
  };
}
