// The sudo hand-off's trust check: `crossnix internal apply-plan` runs as root on a file an
// unprivileged crossnix wrote, so it accepts only a plan that process wrote (a regular 0600 file
// owned by the user sudo was called by, whose SHA-256 was passed on the command line) and only
// the changes and commands crossnix itself plans.
import { createHash } from "node:crypto";
import { lstat, readFile } from "node:fs/promises";
import path from "node:path";
import { BUILDER_NAME } from "../../core/builders/name.js";
import { dedicatedKeyCommand } from "../../core/builders/plan.js";
import type { Plan, PlanCommand } from "../../core/plan/plan.js";
import { CrossnixError } from "../../errors.js";
import { resolveSystemPath } from "../system/paths.js";

/** Directories a handed-off plan may change files in (system paths, before CROSSNIX_ROOT). */
const WRITABLE_DIRS = ["/etc/nix", "/etc/ssh/ssh_config.d", "/etc/determinate"];

export function planDigest(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function refused(why: string): CrossnixError {
  return new CrossnixError("PERMISSION", `refusing the plan file: ${why}`, {
    hint: "apply-plan only takes a plan that crossnix itself just wrote for this sudo call",
  });
}

export async function readHandedOffPlan(
  file: string,
  expectedDigest: string | undefined,
  env: NodeJS.ProcessEnv,
  root: string,
): Promise<Plan> {
  if (!expectedDigest || !/^[0-9a-f]{64}$/.test(expectedDigest)) throw refused("--sha256 <digest> is required");
  const info = await lstat(file).catch(() => null);
  if (!info?.isFile()) throw refused(`${file} is not a regular file`);
  const owner = Number(env["SUDO_UID"] ?? process.getuid?.() ?? 0);
  if (info.uid !== owner)
    throw refused(`${file} is owned by uid ${info.uid}, not by the user who ran crossnix (uid ${owner})`);
  if ((info.mode & 0o077) !== 0)
    throw refused(`${file} is readable or writable by others (mode ${(info.mode & 0o777).toString(8)})`);
  const bytes = await readFile(file);
  if (planDigest(bytes) !== expectedDigest)
    throw refused(`${file} is not the plan that was confirmed (SHA-256 differs)`);
  let plan: Plan;
  try {
    plan = JSON.parse(bytes.toString("utf8")) as Plan;
  } catch {
    throw refused(`${file} is not JSON`);
  }
  if (!Array.isArray(plan.files) || !Array.isArray(plan.commands)) throw refused("it is not a crossnix plan");
  for (const change of plan.files) {
    const p = change.path;
    const normal = typeof p === "string" && path.isAbsolute(p) && path.normalize(p) === p;
    if (!normal || change.repoFile || !WRITABLE_DIRS.some((d) => p.startsWith(`${d}/`))) {
      throw refused(`it changes ${String(p)}, which crossnix never changes through sudo`);
    }
  }
  for (const command of plan.commands) {
    if (!isPlannedCommand(command, root))
      throw refused(`it runs '${(command.argv ?? []).join(" ")}', which crossnix never plans`);
  }
  return plan;
}

/** The commands crossnix's own plans contain: daemon restarts and making a builder's key (under `root`). */
export function isPlannedCommand(command: PlanCommand, root: string): boolean {
  const a = command.argv;
  if (!Array.isArray(a) || !a.every((x) => typeof x === "string")) return false;
  // What a command declares it creates is removed by undo: only a key command may declare any.
  const creates = command.creates ?? [];
  const is = (...want: string[]) => a.length === want.length && want.every((w, i) => w === a[i]);
  if (creates.length === 0 && is("systemctl", "restart", "nix-daemon.service")) return true;
  if (creates.length === 0 && is("launchctl", "kickstart", "-k", "system/systems.determinate.nix-daemon")) return true;
  if (creates.length === 0 && is("launchctl", "kickstart", "-k", "system/org.nixos.nix-daemon")) return true;
  if (
    creates.length === 0 &&
    a.length === 4 &&
    a[0] === process.execPath &&
    a[1] === crossnixCli() &&
    a[2] === "internal" &&
    a[3] === "restart-daemon"
  )
    return true;
  // A builder's key, only at that builder's path, creating exactly that key and its .pub.
  const name = /^crossnix-(.+)$/.exec(a[7] ?? "")?.[1] ?? "";
  if (!BUILDER_NAME.test(name)) return false;
  const expected = dedicatedKeyCommand(name, resolveSystemPath(`/etc/nix/crossnix/${name}_ed25519`, root));
  return is(...expected.argv) && creates.length === 2 && creates.every((c, i) => c === expected.creates?.[i]);
}

function crossnixCli(): string {
  return new URL("../../cli.js", import.meta.url).pathname;
}
