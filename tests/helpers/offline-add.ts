// `crossnix builder add` of a builder that is never contacted (--no-probe --host-key --yes), on a
// temp root: the command most CLI tests of how files change start from.
import { type CliRun, runCli } from "./cli.js";
import { OFFLINE_HOST_KEY } from "./keys.js";

export function addOffline(
  root: string,
  name: string,
  options: { address?: string; extra?: string[]; timeoutMs?: number } = {},
): Promise<CliRun> {
  const args = ["builder", "add", `nix@${options.address ?? "127.0.0.5"}`, "--name", name, "--system", "x86_64-linux"];
  return runCli([...args, "--no-probe", "--host-key", OFFLINE_HOST_KEY, "--yes", ...(options.extra ?? [])], {
    env: { CROSSNIX_ROOT: root, CROSSNIX_PLATFORM: "linux" },
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
}
