// Test helper: runs the built CLI inside the test bed's sandbox root.
import type { Sandbox, SandboxRunOptions } from "#testbed";
import { CLI } from "./cli.js";

/**
 * Runs the built crossnix inside the test bed's sandbox root, where /etc/nix, /etc/ssh and
 * /root/.ssh are the sandbox's own at their real paths (as root unless `user` is given).
 */
export function crossnixIn(sandbox: Sandbox, args: string[], options: Omit<SandboxRunOptions, "cwd"> = {}) {
  return sandbox.run([process.execPath, CLI, ...args], {
    timeoutMs: 120_000,
    ...options,
    // Build history goes to the run's temporary directory, not the host's /root.
    env: { NO_COLOR: "1", XDG_STATE_HOME: `${sandbox.tmpDir}/state`, ...options.env },
  });
}
