// Who runs crossnix: user name and groups, as trusted-users sees them.
import { execFileSync } from "node:child_process";
import os from "node:os";

/** Who is running crossnix, as the Nix daemon's trusted-users sees it (name and group names). */
export function currentUser(): { name: string; groups: string[] } {
  let groups: string[] = [];
  try {
    groups = execFileSync("id", ["-Gn"], { encoding: "utf8" }).trim().split(/\s+/);
  } catch {
    // No id(1): trust is then decided on the user name alone.
  }
  return { name: os.userInfo().username, groups };
}
