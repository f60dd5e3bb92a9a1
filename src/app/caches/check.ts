// `cache check`: before a build, what of its closure is here, in which cache (signature checked
// against the daemon's keys), and what must be built where. Walks the closure as Nix's queryMissing
// does: a path here needs nothing; a cached path needs its references; a path to build needs its
// derivation's inputs. Queries run concurrently over keep-alive connections.
import type { Context } from "../../context.js";
import { parseDryRun } from "../../core/build/nix-output.js";
import { checkCoverage } from "../../core/build/coverage.js";
import {
  type CheckSummary,
  type DerivationNode,
  outputOwners,
  type PathVerdict,
  parseDerivationGraph,
  summarise,
} from "../../core/caches/closure.js";
import { acceptedByNix, checkSignaturesAsync, type PublicKey } from "../../core/caches/keys.js";
import { fetchUrl } from "../../core/caches/substituters.js";
import { atLeast } from "../../core/nix/version.js";
import { CrossnixError } from "../../errors.js";
import { invalidPaths } from "../../host/caches/daemon-query.js";
import { cacheClient, type CacheClient } from "../../host/caches/http.js";
import { runNix } from "../../host/nix/nix.js";
import { nixFailure } from "../../host/nix/nix-failure.js";
import { localCapability } from "../../host/nix/local-capability.js";
import { loadConfigState } from "../../host/state.js";
import { succeeded } from "../../host/system/exec.js";
import type { Host } from "../../host/system/host.js";
import { type BuilderCacheView, builderCacheViews } from "./builders.js";
import { fetchCacheInfo, fetchNarInfo, mapConcurrent } from "./probe.js";
import { type CacheState, daemonCredentials, daemonKeys, loadCacheState } from "./state.js";

export interface CheckInput {
  installables: string[];
  nixArgs: string[];
  system: string | null;
  /** Also ask each builder whether it can use each cache (cache check --builders). */
  builders?: boolean;
}

export interface CheckedCache {
  url: string;
  priority: number;
  reachable: boolean;
  problem: string | null;
}

export interface CheckResult {
  paths: PathVerdict[];
  summary: CheckSummary;
  caches: CheckedCache[];
  /** Paths `nix build --dry-run` says will be fetched, though no trusted key verifies them (Nix will build them). */
  fetchedButUnverified: string[];
  /** Paths the dry run would fetch that crossnix found in no cache it could read (e.g. credentials only the daemon has). */
  dryRunDisagrees: string[];
  /** With --builders: each builder's view of each cache. */
  builders?: BuilderCacheView[];
  /** Where the time went (ms): evaluating the closure, walking it (validity and narinfo queries), the dry run. */
  timings: { evaluateMs: number; walkMs: number; dryRunMs: number | null };
}

const CONCURRENCY = 64;

export async function checkCaches(
  ctx: Pick<Context, "host" | "options" | "progress">,
  input: CheckInput,
): Promise<CheckResult> {
  const { host } = ctx;
  const timeoutMs = ctx.options.timeout * 1000;
  const state = await loadCacheState(host);
  const extra = [...input.nixArgs, ...(input.system ? ["--system", input.system] : [])];
  ctx.progress("Evaluating what the build needs…");
  const started = performance.now();
  const graph = await derivationGraph(host, state, input.installables, extra);
  const evaluated = performance.now();
  const client = cacheClient({ timeoutMs, maxSockets: CONCURRENCY });
  try {
    const caches = await orderedCaches(client, state, timeoutMs);
    const readable = caches.filter((c) => c.reachable);
    ctx.progress(`Querying ${readable.length} cache(s) for the closure of ${graph.top.length} derivation(s)…`);
    const where = await placement(host, state, graph.nodes);
    const onBuilders = input.builders
      ? builderCacheViews(
          ctx,
          caches.map((c) => ({
            url: c.url,
            keys: state.records.filter((r) => r.record.url === c.url).flatMap((r) => r.record.keysAdded),
          })),
        )
      : undefined;
    const paths = await walk(host, client, state, graph, readable, where, timeoutMs);
    const walked = performance.now();
    // Only a path some cache has without a signature Nix accepts can make the dry run promise a
    // fetch Nix then refuses (docs/binary-caches.md#signatures): ask Nix's own dry run then.
    let toFetch: string[] = [];
    let dryRunMs: number | null = null;
    if (paths.some((p) => p.status === "build" && p.unverifiedIn.length > 0)) {
      const dry = await runNix(host, ["build", "--dry-run", ...input.installables, ...extra], {
        env: { ...host.env, NIX_REMOTE: "daemon" },
        timeoutMs: 5 * 60_000,
      });
      toFetch = succeeded(dry) ? parseDryRun(dry.stderr).toFetch : [];
      dryRunMs = Math.round(performance.now() - walked);
    }
    const byPath = new Map(paths.map((p) => [p.path, p]));
    const fetchedButUnverified = toFetch.filter((p) => {
      const v = byPath.get(p);
      return v?.status === "build" && v.unverifiedIn.length > 0;
    });
    const dryRunDisagrees = toFetch.filter(
      (p) => byPath.get(p)?.status === "build" && !fetchedButUnverified.includes(p),
    );
    return {
      paths,
      summary: summarise(paths),
      caches,
      fetchedButUnverified,
      dryRunDisagrees,
      ...(onBuilders ? { builders: await onBuilders } : {}),
      timings: {
        evaluateMs: Math.round(evaluated - started),
        walkMs: Math.round(walked - evaluated),
        dryRunMs,
      },
    };
  } finally {
    client.close();
  }
}

async function derivationGraph(
  host: Host,
  state: CacheState,
  installables: string[],
  extra: string[],
): Promise<{ top: string[]; nodes: Map<string, DerivationNode> }> {
  const env = { ...host.env, NIX_REMOTE: "daemon" };
  const version = state.info.nix.version?.nix ?? null;
  const verb = version && atLeast(version, "2.15") ? ["derivation", "show"] : ["show-derivation"];
  // Both evaluate the installables; run side by side (show-derivation takes installables too).
  const [drvRun, show] = await Promise.all([
    runNix(host, ["path-info", "--derivation", ...installables, ...extra], { env, timeoutMs: 5 * 60_000 }),
    runNix(host, [...verb, "--recursive", ...installables, ...extra], { env, timeoutMs: 5 * 60_000 }),
  ]);
  if (!succeeded(drvRun)) throw nixFailure("evaluating the installables", drvRun);
  const top = drvRun.stdout.split("\n").filter((l) => l.endsWith(".drv"));
  if (top.length === 0) {
    throw new CrossnixError("BAD_INPUT", "the installables name no derivation to check", {
      hint: "give a package, e.g. .#packages.aarch64-linux.default, or -- -f default.nix hello",
    });
  }
  if (!succeeded(show)) throw nixFailure("reading the derivations", show);
  return { top, nodes: parseDerivationGraph(show.stdout) };
}

/** The daemon's substituters it can reach, in the order Nix tries them (priority, then as listed). */
async function orderedCaches(client: CacheClient, state: CacheState, timeoutMs: number): Promise<CheckedCache[]> {
  const urls = state.view.entries.filter((e) => e.role === "daemon");
  const checked = await Promise.all(
    urls.map(async (entry, index) => {
      const got = await fetchCacheInfo(client, entry.url, daemonCredentials(state, entry.url), timeoutMs);
      const priority = entry.priorityParam ?? (got.ok ? (got.info.priority ?? 0) : 0);
      return { url: entry.url, priority, reachable: got.ok, problem: got.ok ? null : got.why, index };
    }),
  );
  return checked.sort((a, b) => a.priority - b.priority || a.index - b.index).map(({ index: _, ...c }) => c);
}

/** Where each derivation would build: Nix prefers a remote builder that takes it, else this machine. */
async function placement(
  host: Host,
  state: CacheState,
  nodes: Map<string, DerivationNode>,
): Promise<(node: DerivationNode) => string> {
  const config = await loadConfigState(host, { nixVersion: false, tolerant: true });
  const local = await localCapability(host, state.info);
  const builders = config.fleet
    .filter((b) => b.enabled)
    .map((b) => ({
      name: b.name,
      systems: b.entry.systems,
      features: b.entry.supportedFeatures,
      mandatoryFeatures: b.entry.mandatoryFeatures,
      health: { state: "unknown" as const },
    }));
  const needs = [...nodes.values()].map((n) => ({ drv: n.drv, system: n.system, features: n.features }));
  const { routes } = checkCoverage(needs, builders, local);
  return (node) => {
    const key = [...node.features].sort().join(",");
    const route = routes.find((r) => r.system === node.system && [...r.features].sort().join(",") === key);
    if (route && route.builders.length > 0) return `on ${node.system} builders (${route.builders.join(", ")})`;
    if (route?.local) return "locally";
    return `nowhere (no builder for ${node.system})`;
  };
}

async function walk(
  host: Host,
  client: CacheClient,
  state: CacheState,
  graph: { top: string[]; nodes: Map<string, DerivationNode> },
  caches: CheckedCache[],
  where: (node: DerivationNode) => string,
  timeoutMs: number,
): Promise<PathVerdict[]> {
  const keys = daemonKeys(state);
  const owners = outputOwners(graph.nodes);
  const verdicts = new Map<string, PathVerdict>();
  const expanded = new Set<string>();
  let frontier = [...new Set(graph.top.flatMap((d) => graph.nodes.get(d)?.outputs ?? []))];
  while (frontier.length > 0) {
    const invalid = await invalidPaths(host, frontier);
    if (invalid === null) throw new CrossnixError("NIX", "nix-store --check-validity failed on the closure");
    const next: string[] = [];
    const add = (paths: string[]) => {
      for (const p of paths) if (!verdicts.has(p)) next.push(p);
    };
    const results = await mapConcurrent(frontier, CONCURRENCY, async (path): Promise<Looked> => {
      if (!invalid.has(path)) return { verdict: { path, status: "valid" }, references: [] };
      return lookup(client, state, caches, keys, path, owners.get(path) ?? null, where, timeoutMs);
    });
    for (const { verdict, references } of results) {
      verdicts.set(verdict.path, verdict);
      if (verdict.status === "cached") add(references);
      if (verdict.status === "build") {
        const node = owners.get(verdict.path);
        if (node && !expanded.has(node.drv)) {
          expanded.add(node.drv);
          add([...node.inputOutputs, ...node.inputSrcs]);
        }
      }
    }
    frontier = [...new Set(next)].filter((p) => !verdicts.has(p));
  }
  return [...verdicts.values()];
}

/** A path's verdict, and for a cached one the references it brings (from its narinfo). */
interface Looked {
  verdict: PathVerdict;
  references: string[];
}

/** The first cache (in Nix's order) whose narinfo a trusted key verifies; else the path is built. */
async function lookup(
  client: CacheClient,
  state: CacheState,
  caches: CheckedCache[],
  keys: PublicKey[],
  path: string,
  owner: DerivationNode | null,
  where: (node: DerivationNode) => string,
  timeoutMs: number,
): Promise<Looked> {
  const unverifiedIn: { cache: string; why: string }[] = [];
  for (const cache of caches) {
    const got = await fetchNarInfo(client, cache.url, path, daemonCredentials(state, fetchUrl(cache.url)), timeoutMs);
    if (got.status !== "found") continue;
    const check = await checkSignaturesAsync(got.info, keys);
    if (acceptedByNix(check)) {
      const verdict: PathVerdict = {
        path,
        status: "cached",
        cache: cache.url,
        signedBy: check.status === "verified" ? check.key : "content-addressed",
        downloadSize: got.info.fileSize,
        narSize: got.info.narSize,
      };
      return { verdict, references: got.info.references.filter((r) => r !== path) };
    }
    unverifiedIn.push({
      cache: cache.url,
      why:
        check.status === "unsigned"
          ? "unsigned"
          : check.status === "unknown-key"
            ? `signed by ${check.signedBy.join(", ")}, which the daemon does not trust`
            : `the signature by ${check.status === "bad-signature" ? check.key : "?"} does not verify`,
    });
  }
  const verdict: PathVerdict = {
    path,
    status: "build",
    drv: owner?.drv ?? null,
    system: owner?.system ?? null,
    where: owner ? where(owner) : "unknown (no derivation makes it)",
    unverifiedIn,
  };
  return { verdict, references: [] };
}
