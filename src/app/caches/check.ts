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
import { isStorePath } from "../../core/caches/narinfo.js";
import type { NetrcCredentials } from "../../core/caches/netrc.js";
import { acceptedByNix, checkSignaturesAsync, type PublicKey, type SignatureVerify } from "../../core/caches/keys.js";
import { fetchUrl } from "../../core/caches/substituters.js";
import { atLeast } from "../../core/nix/version.js";
import { CrossnixError } from "../../errors.js";
import { invalidPaths } from "../../host/caches/daemon-query.js";
import { readDerivationClosure, readDerivationFiles } from "../../host/caches/derivations.js";
import { cacheClient, type CacheClient } from "../../host/caches/http.js";
import { signatureVerifier } from "../../host/caches/signature-verifier.js";
import { runNix } from "../../host/nix/nix.js";
import { nixFailure } from "../../host/nix/nix-failure.js";
import { detectNixVersion } from "../../host/nix/detect.js";
import { succeeded } from "../../host/system/exec.js";
import type { Host } from "../../host/system/host.js";
import type { BuilderCacheView } from "./builders.js";
import { concurrencyLimit, fetchCacheInfo, fetchNarInfo } from "./probe.js";
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
  /**
   * Where the time went (ms): reading the settings; evaluating the installables and reading their
   * derivations; waiting on top of that for the caches' nix-cache-info; walking the closure
   * (validity, narinfos, signatures); the dry run when it ran.
   */
  timings: { settingsMs: number; evaluateMs: number; cachesMs: number; walkMs: number; dryRunMs: number | null };
  /** What verified the signatures ("libsodium", "node:crypto", …), null when none needed verifying. */
  signaturesVerifiedWith: string | null;
}

// Per cache: a few connections with requests pipelined on each (docs/binary-caches.md#pipelining).
const CONNECTIONS = 8;
const PIPELINE = 16;
const CONCURRENCY = CONNECTIONS * PIPELINE;

export async function checkCaches(
  ctx: Pick<Context, "host" | "options" | "progress">,
  input: CheckInput,
): Promise<CheckResult> {
  const { host } = ctx;
  const timeoutMs = ctx.options.timeout * 1000;
  const started = performance.now();
  // Started first: the signature thread boots while the settings and derivations are read.
  const verifier = signatureVerifier();
  const client = cacheClient({ timeoutMs, connections: CONNECTIONS, pipeline: PIPELINE });
  try {
    // `nix --version` is not needed here (only a fallback asks for it).
    const state = await loadCacheState(host, { nixVersion: false });
    const extra = [...input.nixArgs, ...(input.system ? ["--system", input.system] : [])];
    const loaded = performance.now();
    // The caches' nix-cache-info is read while the derivations are.
    const cachesAsked = orderedCaches(client, state, timeoutMs);
    ctx.progress("Reading what the build needs…");
    const graph = await derivationGraph(host, input.installables, extra);
    const evaluated = performance.now();
    const caches = await cachesAsked;
    // The builders' settings are read only once some path must be built.
    let placed: Promise<(node: DerivationNode) => string> | null = null;
    const where = () => {
      placed ??= Promise.all([buildPlaces(host, state), graph.nodes()]).then(([places, nodes]) =>
        placement(places, nodes),
      );
      return placed;
    };
    const readable = caches.filter((c) => c.reachable);
    const prepared = performance.now();
    ctx.progress(`Querying ${readable.length} cache(s) for the closure of ${graph.top.length} derivation(s)…`);
    // Loaded only for --builders (it brings the SSH modules).
    const onBuilders = input.builders
      ? import("./builders.js").then(({ builderCacheViews }) =>
          builderCacheViews(
            ctx,
            caches.map((c) => ({
              url: c.url,
              keys: state.records.filter((r) => r.record.url === c.url).flatMap((r) => r.record.keysAdded),
            })),
          ),
        )
      : undefined;
    const readers = { client, verify: verifier.verify, querySlot: concurrencyLimit(CONCURRENCY) };
    const paths = await walk(host, readers, state, graph, readable, where, timeoutMs);
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
      signaturesVerifiedWith: verifier.engine(),
      timings: {
        settingsMs: Math.round(loaded - started),
        evaluateMs: Math.round(evaluated - loaded),
        cachesMs: Math.round(prepared - evaluated),
        walkMs: Math.round(walked - prepared),
        dryRunMs,
      },
    };
  } finally {
    client.close();
    verifier.close();
  }
}

/** The installables' derivations: their outputs at once, the whole closure only once a path must be built. */
interface Graph {
  top: string[];
  topOutputs: string[];
  /** Every derivation of the closure (read on the first call). */
  nodes(): Promise<Map<string, DerivationNode>>;
}

/**
 * The derivations the installables name. Store paths of .drv files are read in-process without Nix;
 * anything else is evaluated once (`nix path-info --derivation`) and its .drv files then read the
 * same way; `nix show-derivation -r` only when a .drv is in a form crossnix does not read.
 */
async function derivationGraph(host: Host, installables: string[], extra: string[]): Promise<Graph> {
  const env = { ...host.env, NIX_REMOTE: "daemon" };
  // Only store paths of .drv files, and no `-f`/`--expr` that would make them something else.
  const drvsOnly =
    installables.length > 0 &&
    !extra.some((a) => a === "-f" || a === "--file" || a === "--expr") &&
    installables.every((i) => isStorePath(i) && i.endsWith(".drv"));
  let top = drvsOnly ? installables : null;
  let topFiles = top ? readDerivationFiles(top) : null;
  if (!top || !topFiles) {
    const drvRun = await runNix(host, ["path-info", "--derivation", ...installables, ...extra], {
      env,
      timeoutMs: 5 * 60_000,
    });
    if (!succeeded(drvRun)) throw nixFailure("evaluating the installables", drvRun);
    top = drvRun.stdout.split("\n").filter((l) => l.endsWith(".drv"));
    if (top.length === 0) {
      throw new CrossnixError("BAD_INPUT", "the installables name no derivation to check", {
        hint: "give a package, e.g. .#packages.aarch64-linux.default, or -- -f default.nix hello",
      });
    }
    topFiles = readDerivationFiles(top);
  }
  const drvs = top;
  const closure = async () => readDerivationClosure(drvs) ?? (await showDerivations(host, drvs, env));
  if (!topFiles) {
    const nodes = await closure();
    return { top: drvs, topOutputs: drvs.flatMap((d) => nodes.get(d)?.outputs ?? []), nodes: async () => nodes };
  }
  let all: Promise<Map<string, DerivationNode>> | null = null;
  return {
    top: drvs,
    topOutputs: [...topFiles.values()].flatMap((f) => [...f.outputs.values()]),
    nodes: () => {
      all ??= closure();
      return all;
    },
  };
}

async function showDerivations(
  host: Host,
  drvs: string[],
  env: NodeJS.ProcessEnv,
): Promise<Map<string, DerivationNode>> {
  const version = (await detectNixVersion(host)).version?.nix ?? null;
  const verb = version && atLeast(version, "2.15") ? ["derivation", "show"] : ["show-derivation"];
  const show = await runNix(host, [...verb, "--recursive", "--", ...drvs], { env, timeoutMs: 5 * 60_000 });
  if (!succeeded(show)) throw nixFailure("reading the derivations", show);
  return parseDerivationGraph(show.stdout);
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

interface BuildPlaces {
  builders: Parameters<typeof checkCoverage>[1];
  local: Parameters<typeof checkCoverage>[2];
}

/** The enabled builders and what this machine builds itself. */
async function buildPlaces(host: Host, state: CacheState): Promise<BuildPlaces> {
  // Loaded here, not with the command: a closure that is all cached never needs them.
  const [{ loadConfigState }, { localCapability }] = await Promise.all([
    import("../../host/state.js"),
    import("../../host/nix/local-capability.js"),
  ]);
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
  return { builders, local };
}

/** Where each derivation would build: Nix prefers a remote builder that takes it, else this machine. */
function placement(places: BuildPlaces, nodes: Map<string, DerivationNode>): (node: DerivationNode) => string {
  const needs = [...nodes.values()].map((n) => ({ drv: n.drv, system: n.system, features: n.features }));
  const { routes } = checkCoverage(needs, places.builders, places.local);
  return (node) => {
    const key = [...node.features].sort().join(",");
    const route = routes.find((r) => r.system === node.system && [...r.features].sort().join(",") === key);
    if (route && route.builders.length > 0) return `on ${node.system} builders (${route.builders.join(", ")})`;
    if (route?.local) return "locally";
    return `nowhere (no builder for ${node.system})`;
  };
}

/** How the walk reads narinfos and verifies their signatures. */
interface Readers {
  client: CacheClient;
  verify: SignatureVerify;
  /** Bounds the narinfo queries in flight; verifying a signature does not hold a place. */
  querySlot: <R>(task: () => Promise<R>) => Promise<R>;
}

/**
 * Nix's queryMissing order: a valid path needs nothing, a cached one its references, one to build
 * its derivation's inputs. The closure's derivations are read only once some path must be built.
 */
async function walk(
  host: Host,
  readers: Readers,
  state: CacheState,
  graph: Graph,
  caches: CheckedCache[],
  where: () => Promise<(node: DerivationNode) => string>,
  timeoutMs: number,
): Promise<PathVerdict[]> {
  const keys = daemonKeys(state);
  const credentials = new Map(caches.map((c) => [c.url, daemonCredentials(state, fetchUrl(c.url))]));
  let owners: Promise<Map<string, DerivationNode>> | null = null;
  const ownerOf = async (path: string) => {
    owners ??= graph.nodes().then(outputOwners);
    return (await owners).get(path) ?? null;
  };
  const verdicts = new Map<string, PathVerdict>();
  const expanded = new Set<string>();
  let frontier = [...new Set(graph.topOutputs)];
  while (frontier.length > 0) {
    const invalid = await invalidPaths(host, frontier);
    if (invalid === null) throw new CrossnixError("NIX", "nix-store --check-validity failed on the closure");
    const next: string[] = [];
    const add = (paths: string[]) => {
      for (const p of paths) if (!verdicts.has(p)) next.push(p);
    };
    const results = await Promise.all(
      frontier.map(async (path): Promise<Looked> => {
        if (!invalid.has(path)) return { path, found: null, unverifiedIn: [], valid: true };
        return lookup(readers, credentials, caches, keys, path, timeoutMs);
      }),
    );
    for (const looked of results) {
      if (looked.valid) {
        verdicts.set(looked.path, { path: looked.path, status: "valid" });
      } else if (looked.found) {
        verdicts.set(looked.path, looked.found.verdict);
        add(looked.found.references);
      } else {
        const node = await ownerOf(looked.path);
        verdicts.set(looked.path, {
          path: looked.path,
          status: "build",
          drv: node?.drv ?? null,
          system: node?.system ?? null,
          where: node ? (await where())(node) : "unknown (no derivation makes it)",
          unverifiedIn: looked.unverifiedIn,
        });
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

/** What the caches say of a path: valid here, or the cache verdict and the references it brings, or why none. */
interface Looked {
  path: string;
  valid: boolean;
  found: { verdict: PathVerdict; references: string[] } | null;
  /** Caches that have it without a signature Nix accepts. */
  unverifiedIn: { cache: string; why: string }[];
}

/** The first cache (in Nix's order) whose narinfo a trusted key verifies; else the path is built. */
async function lookup(
  { client, verify, querySlot }: Readers,
  credentials: Map<string, NetrcCredentials | null>,
  caches: CheckedCache[],
  keys: PublicKey[],
  path: string,
  timeoutMs: number,
): Promise<Looked> {
  const unverifiedIn: { cache: string; why: string }[] = [];
  for (const cache of caches) {
    const got = await querySlot(() =>
      fetchNarInfo(client, cache.url, path, credentials.get(cache.url) ?? null, timeoutMs),
    );
    if (got.status !== "found") continue;
    const check = await checkSignaturesAsync(got.info, keys, verify);
    if (acceptedByNix(check)) {
      const verdict: PathVerdict = {
        path,
        status: "cached",
        cache: cache.url,
        signedBy: check.status === "verified" ? check.key : "content-addressed",
        downloadSize: got.info.fileSize,
        narSize: got.info.narSize,
      };
      const references = got.info.references.filter((r) => r !== path);
      return { path, valid: false, found: { verdict, references }, unverifiedIn };
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
  return { path, valid: false, found: null, unverifiedIn };
}
