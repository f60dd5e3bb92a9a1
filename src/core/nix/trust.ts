// Who a Nix daemon trusts, and which config files NixOS or nix-darwin generate.
import path from "node:path";

/** Whether a `trusted-users` list admits the user: by name, through one of its groups (`@g`), or `*`. */
export function trustsUser(trustedUsers: readonly string[], user: string, groups: readonly string[]): boolean {
  return trustedUsers.some((t) => t === "*" || t === user || (t.startsWith("@") && groups.includes(t.slice(1))));
}

/** A local daemon always trusts root; anyone else must be listed (docs/nix-settings.md#trusted-users). */
export function isTrustedUser(trustedUsers: readonly string[], user: string, groups: readonly string[]): boolean {
  return user === "root" || trustsUser(trustedUsers, user, groups);
}

/**
 * A config file NixOS or nix-darwin generates: a link into the store, or through /etc/static,
 * written absolute or relative to the link's directory (nix-darwin's `../static/nix/nix.conf`).
 */
export function isGeneratedLink(linkPath: string, target: string | null): boolean {
  if (target === null) return false;
  const resolved = path.posix.resolve(path.posix.dirname(linkPath), target);
  return resolved.startsWith("/nix/store/") || resolved.startsWith("/etc/static/");
}
