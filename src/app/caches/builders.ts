// `cache check --builders`: with builders-use-substitutes, a builder fetches inputs from its *own*
// caches (docs/binary-caches.md#settings). Over the SSH the daemon uses, ask each builder whether its
// Nix can open each cache, lists it, and trusts a key for it.
import type { Context } from "../../context.js";
import { daemonSshTarget, type FleetBuilder } from "../../core/builders/fleet.js";
import { parsePublicKeys } from "../../core/caches/keys.js";
import { fetchUrl, matchingKeys, sameSubstituter } from "../../core/caches/substituters.js";
import { sshRun } from "../../host/builders/ssh.js";
import { loadConfigState } from "../../host/state.js";
import { describeFailure, succeeded } from "../../host/system/exec.js";

export interface BuilderCacheView {
  builder: string;
  /** null when the builder could not be asked (SSH failed). */
  error: string | null;
  /** Whose settings decide: the builder's daemon (system files), or the SSH user's Nix (no daemon there). */
  view: "daemon" | "user" | null;
  caches: {
    url: string;
    reachable: boolean;
    why: string | null;
    /** The builder's own substituters list it (needed for builders-use-substitutes). */
    listed: boolean;
    /** A key the builder trusts is named after the cache, or is one of `keys`. */
    keyTrusted: boolean;
  }[];
}

// One session per builder: `nix store ping --store <url>` opens each cache as the builder's Nix
// would, then the builder's settings as its Nix reads them.
const SCRIPT = `NIX=$(command -v nix || echo /nix/var/nix/profiles/default/bin/nix)
for url in "$@"; do
  if out=$("$NIX" --extra-experimental-features nix-command store ping --store "$url" 2>&1); then
    echo "cache ok $url"
  else
    echo "cache fail $url $(printf '%s' "$out" | tr '\\n' ' ' | tail -c 300)"
  fi
done
# With a daemon on the builder, substitution happens there, and the daemon reads only the system
# configuration; without one, the SSH user's Nix does it with the user's files too.
if [ -S /nix/var/nix/daemon-socket/socket ]; then
  echo "view daemon"
  NIX_USER_CONF_FILES=/nonexistent/crossnix NIX_CONFIG= "$NIX" --extra-experimental-features nix-command show-config 2>/dev/null | grep -E '^(substituters|trusted-public-keys) = '
else
  echo "view user"
  "$NIX" --extra-experimental-features nix-command show-config 2>/dev/null | grep -E '^(substituters|trusted-public-keys) = '
fi
`;

export async function builderCacheViews(
  ctx: Pick<Context, "host" | "options" | "progress">,
  caches: { url: string; keys: string[] }[],
): Promise<BuilderCacheView[]> {
  const state = await loadConfigState(ctx.host, { nixVersion: false, tolerant: true });
  const builders = state.fleet.filter((b) => b.enabled && (b.protocol === "ssh" || b.protocol === "ssh-ng"));
  ctx.progress(`Asking ${builders.length} builder(s) about ${caches.length} cache(s)…`);
  return Promise.all(builders.map((b) => ask(ctx, b, caches)));
}

async function ask(
  ctx: Pick<Context, "host" | "options">,
  builder: FleetBuilder,
  caches: { url: string; keys: string[] }[],
): Promise<BuilderCacheView> {
  const urls = caches.map((c) => fetchUrl(c.url));
  const run = await sshRun(ctx.host, daemonSshTarget(builder), SCRIPT, {
    timeoutSeconds: ctx.options.timeout * Math.max(1, caches.length) + ctx.options.timeout,
    args: urls,
  });
  if (!succeeded(run) && !run.stdout.includes("cache ")) {
    return { builder: builder.name, error: describeFailure(run), view: null, caches: [] };
  }
  const lines = run.stdout.split("\n");
  const setting = (name: string) => lines.find((l) => l.startsWith(`${name} = `))?.slice(name.length + 3) ?? "";
  const substituters = setting("substituters").split(/\s+/).filter(Boolean);
  const trusted = parsePublicKeys(setting("trusted-public-keys"));
  return {
    builder: builder.name,
    error: null,
    view: lines.includes("view daemon") ? "daemon" : "user",
    caches: caches.map((cache, i) => {
      const line = lines.find((l) => l.startsWith(`cache ok ${urls[i]}`) || l.startsWith(`cache fail ${urls[i]} `));
      const reachable = line?.startsWith("cache ok ") ?? false;
      return {
        url: cache.url,
        reachable,
        why: reachable ? null : (line?.slice(`cache fail ${urls[i]} `.length).trim() ?? "no answer"),
        listed: substituters.some((s) => sameSubstituter(fetchUrl(s), urls[i]!)),
        keyTrusted: matchingKeys(cache.url, trusted).length > 0 || trusted.some((k) => cache.keys.includes(k.text)),
      };
    }),
  };
}
