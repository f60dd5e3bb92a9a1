/** Whether a `trusted-users` list admits the user: by name, through one of its groups (`@g`), or `*`. */
export function trustsUser(trustedUsers: readonly string[], user: string, groups: readonly string[]): boolean {
  return trustedUsers.some((t) => t === "*" || t === user || (t.startsWith("@") && groups.includes(t.slice(1))));
}

/** A local daemon always trusts root; anyone else must be listed (docs/nix-settings.md#trusted-users). */
export function isTrustedUser(trustedUsers: readonly string[], user: string, groups: readonly string[]): boolean {
  return user === "root" || trustsUser(trustedUsers, user, groups);
}

/** A config file NixOS or nix-darwin generates: a link into the store, or through /etc/static. */
export function isGeneratedLink(target: string | null): boolean {
  return target !== null && (target.startsWith("/nix/store/") || target.startsWith("/etc/static/"));
}
