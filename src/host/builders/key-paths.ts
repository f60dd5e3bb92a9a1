// Paths computed from a builder name (its dedicated key), checked to stay in their directory.
import path from "node:path";
import { CrossnixError } from "../../errors.js";
import { SYSTEM_PATHS } from "../system/paths.js";

/**
 * `dir/fileName`, checked after resolving: a name carrying '/' or '..' that would land anywhere
 * but directly in `dir` is refused, whatever validated it before.
 */
export function fileInside(dir: string, fileName: string): string {
  const resolved = path.posix.resolve(dir, fileName);
  if (path.posix.dirname(resolved) !== path.posix.resolve(dir)) {
    throw new CrossnixError("BAD_INPUT", `'${fileName}' does not name a file in ${dir}`, { detail: { dir, fileName } });
  }
  return resolved;
}

/** The dedicated private key crossnix creates for builder `name` (its public key adds `.pub`). */
export function dedicatedKeyPath(name: string): string {
  return fileInside(SYSTEM_PATHS.keysDir, `${name}_ed25519`);
}
