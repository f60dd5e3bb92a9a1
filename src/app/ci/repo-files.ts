// Paths of repository files (workflows, flake.nix) as the Host reads them, unrelocated.
import path from "node:path";
import type { Host } from "../../host/system/host.js";

// A repository's files (workflows, flake.nix) are not system paths: the Host relocates absolute
// paths under CROSSNIX_ROOT, and leaves relative ones alone. So a repository file is handed to the
// Host relative to this process's working directory.

/** `file` (relative to `cwd`, or absolute) as a path the Host reads without relocating it. */
export function repoPath(cwd: string, file: string): string {
  return path.relative(process.cwd(), path.resolve(cwd, file)) || ".";
}

/** Whether a repository path is a directory (`dir/.` exists only for one). */
export function isDirectory(host: Host, repoRelative: string): Promise<boolean> {
  return host.exists(`${repoRelative}/.`);
}
