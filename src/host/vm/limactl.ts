// Runs Lima's limactl as this user (Lima refuses root) and turns its failures into crossnix errors.
import {
  type LimaInstance,
  type LimaVersion,
  limaMessage,
  MIN_LIMA,
  parseLimaList,
  parseLimaVersion,
  limaAtLeast,
} from "../../core/vm/lima.js";
import { CrossnixError } from "../../errors.js";
import type { ExecResult } from "../system/exec.js";
import type { Host } from "../system/host.js";

export interface Limactl {
  version: LimaVersion;
  run(
    argv: string[],
    options?: { timeoutMs?: number; input?: string; onStderr?: (chunk: string) => void },
  ): Promise<ExecResult>;
}

const ROOT_REFUSAL = "must not run as the root user";

/** limactl's failure as a crossnix error: Lima's own message, and the hint for the ones crossnix knows. */
export function limaFailure(what: string, result: ExecResult): CrossnixError {
  if (result.spawnError) return limaMissing();
  const message = result.timedOut ? "timed out" : limaMessage(result.stderr) || `exit ${result.exitCode}`;
  const hint = message.includes(ROOT_REFUSAL)
    ? "Lima refuses to run as root: run crossnix vm … as the user who owns the VM, without sudo (crossnix asks sudo only to write /etc)"
    : undefined;
  return new CrossnixError("EXEC", `${what}: ${message}`, {
    ...(hint ? { hint } : {}),
    detail: { argv: result.argv, exitCode: result.exitCode },
  });
}

function limaMissing(): CrossnixError {
  return new CrossnixError("NOT_FOUND", "limactl is not installed (Lima runs the VM)", {
    hint: "brew install lima",
    nothingWritten: true,
  });
}

/** limactl on PATH at a version crossnix drives (1.0 or later), or an error saying what to install. */
export async function openLimactl(host: Host): Promise<Limactl> {
  const run: Limactl["run"] = (argv, options = {}) =>
    host.exec(argv, {
      env: host.env,
      timeoutMs: options.timeoutMs ?? 60_000,
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(options.onStderr ? { onStderr: options.onStderr } : {}),
    });
  const probe = await run(["limactl", "--version"], { timeoutMs: 15_000 });
  if (probe.spawnError) throw limaMissing();
  const version = parseLimaVersion(probe.stdout);
  if (!version) throw limaFailure("limactl --version", probe);
  if (!limaAtLeast(version, MIN_LIMA.major, MIN_LIMA.minor)) {
    throw new CrossnixError(
      "UNSUPPORTED",
      `Lima ${version.text} is too old: crossnix needs Lima ${MIN_LIMA.major}.${MIN_LIMA.minor} or later`,
      {
        hint: "brew upgrade lima",
        nothingWritten: true,
      },
    );
  }
  return { version, run };
}

/** Every instance (or the named one), as `limactl list --json` says; a missing named one is null, not an error. */
export async function listInstances(lima: Limactl): Promise<LimaInstance[]> {
  const result = await lima.run(["limactl", "--tty=false", "list", "--json"]);
  if (result.exitCode !== 0) throw limaFailure("limactl list", result);
  return parseLimaList(result.stdout);
}

export async function findInstance(lima: Limactl, name: string): Promise<LimaInstance | null> {
  return (await listInstances(lima)).find((i) => i.name === name) ?? null;
}
