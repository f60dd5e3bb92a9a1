// `cache add`: make the daemon use a binary cache, and prove it does. Each step refuses before writing:
//   1. credentials – the --netrc-password-file is read (never shown, never in nix.conf)
//   2. is a cache  – nix-cache-info fetched (with those credentials); StoreDir must be /nix/store
//   3. key         – a narinfo from the cache must carry a signature the key verifies (unless --no-verify-key)
//   4. plan        – extra-substituters (or extra-trusted-substituters) and extra-trusted-public-keys in the
//                    daemon's settings file, the netrc entry (0600), crossnix's record, a daemon restart
//   5. proof       – the restarted daemon asked for that narinfo through its substituters
import type { Context } from "../../context.js";
import type { CacheInfo } from "../../core/caches/cache-info.js";
import { checkSignatures, type PublicKey, type SignatureCheck } from "../../core/caches/keys.js";
import type { NarInfo } from "../../core/caches/narinfo.js";
import { isStorePath } from "../../core/caches/narinfo.js";
import { planAddCache } from "../../core/caches/plan.js";
import { cacheRecordPath } from "../../core/caches/record.js";
import type { CacheRequest } from "../../core/caches/request.js";
import { badInput, CrossnixError } from "../../errors.js";
import { cacheClient } from "../../host/caches/http.js";
import {
  daemonSubstitutable,
  daemonWouldFetch,
  invalidPaths,
  localCandidatePaths,
  recentStorePaths,
} from "../../host/caches/daemon-query.js";
import { type PlanOutcome, runPlan } from "../plan-runner.js";
import { addCacheOnBuilders, type OnBuilderResult } from "./on-builders.js";
import { fetchUrl, priorityParam, sameSubstituter } from "../../core/caches/substituters.js";
import { fetchCacheInfo, fetchNarInfo, firstCached, mapConcurrent } from "./probe.js";
import {
  type CacheState,
  daemonCredentials,
  daemonKeys,
  daemonSubstituters,
  loadCacheState,
  restartCommand,
} from "./state.js";

export type AddCacheContext = Pick<Context, "host" | "options" | "prompt" | "progress" | "out" | "warn">;

export interface AddCacheResult {
  url: string;
  cacheInfo: CacheInfo | null;
  /** The narinfo the key was checked against, and the verdict; null when not checked. */
  keyCheck: { path: string; result: SignatureCheck } | null;
  outcome: PlanOutcome;
  /** After applying: did the daemon find the narinfo through its substituters? null when not tried. */
  proven: boolean | null;
  /** Everything said, in order: what was found before the plan (already shown), then after it. */
  messages: string[];
  /** The part of `messages` after the plan. */
  after: string[];
  /** With --on-builders: what happened on each builder. */
  builders: OnBuilderResult[] | null;
}

export async function addCache(ctx: AddCacheContext, request: CacheRequest): Promise<AddCacheResult> {
  const timeoutMs = ctx.options.timeout * 1000;
  const messages: string[] = [];
  // What was found before the plan is shown as it is found, ahead of the plan it leads to.
  const found = (line: string) => {
    messages.push(line);
    ctx.out(`${line}\n`);
  };
  // 1. credentials
  const password = request.netrc ? await readPassword(ctx, request.netrc.passwordFile) : null;
  const state = await loadCacheState(ctx.host);
  const credentials =
    request.netrc && password !== null
      ? { login: request.netrc.login, password }
      : daemonCredentials(state, request.baseUrl);
  const client = cacheClient({ timeoutMs });
  try {
    // 2. is a cache
    let cacheInfo: CacheInfo | null = null;
    if (request.scheme === "http" || request.scheme === "https" || request.scheme === "file") {
      ctx.progress(`Fetching ${request.baseUrl}/nix-cache-info…`);
      const got = await fetchCacheInfo(client, request.baseUrl, credentials, timeoutMs);
      if (!got.ok) {
        throw new CrossnixError("CHECK_FAILED", `${request.baseUrl} is not a binary cache Nix can use: ${got.why}`, {
          hint:
            got.status === 401 || got.status === 403
              ? "give credentials: --netrc-login L --netrc-password-file F"
              : "check the URL (a cache serves <url>/nix-cache-info)",
          nothingWritten: true,
          detail: { status: got.status },
        });
      }
      cacheInfo = got.info;
      if (cacheInfo.storeDir !== "/nix/store") {
        throw new CrossnixError(
          "CHECK_FAILED",
          `binary cache '${request.baseUrl}' is for Nix stores with prefix '${cacheInfo.storeDir}', not '/nix/store'`,
          { nothingWritten: true },
        );
      }
      found(describeCacheInfo(request, cacheInfo));
    } else {
      messages.push(
        `${request.scheme}:// caches are not fetched by crossnix; nix-cache-info and the key were not checked.`,
      );
    }

    // 3. key
    const keys = request.keys.length > 0 ? request.keys : daemonKeys(state);
    let sample: NarInfo | null = null;
    let keyCheck: AddCacheResult["keyCheck"] = null;
    if (cacheInfo && request.verifyKey) {
      sample = await findSample(ctx, client, request, credentials, timeoutMs);
      const result = checkSignatures(sample, keys);
      keyCheck = { path: sample.storePath, result };
      refuseUnverified(request, sample.storePath, result, keys);
      found(`Key ${keyName(result)} verifies the signature of ${sample.storePath} from this cache.`);
    } else if (request.keys.length === 0 && !request.verifyKey) {
      found("No key given: only paths signed by keys the daemon already trusts will be used.");
    }

    // 4. plan
    const netrc = request.netrc && password !== null ? { ...request.netrc, password } : null;
    const planFrom = async (current: CacheState) => {
      const existing = current.records.find((r) => r.path === cacheRecordPath(request.url));
      return planAddCache(
        {
          settings: current.settings,
          netrc: netrc ? { path: current.netrc.path, text: current.netrc.text } : null,
          effectiveSubstituters: current.view.entries.filter((e) => e.role === "daemon").map((e) => e.url),
          effectiveTrustedSubstituters: current.view.entries.filter((e) => e.role === "trusted").map((e) => e.url),
          effectiveKeys: current.view.trustedKeys.map((k) => k.text),
          readOnlyReason: current.info.readOnlyReason,
          flavor: current.info.flavor,
          daemonReload: await restartCommand(ctx.host, current),
          now: ctx.host.now(),
          existingRecord: existing ? { text: existing.text, record: existing.record } : null,
        },
        { url: request.url, keys: request.keys.map((k) => k.text), optional: request.optional, netrc },
      ).plan;
    };
    const outcome = await runPlan(ctx, await planFrom(state), {
      replan: async () => planFrom(await loadCacheState(ctx.host, { nixVersion: false })),
    });

    // 5. proof
    const before = messages.length;
    let proven: boolean | null = null;
    if ((outcome.applied || outcome.noop) && !ctx.options.dryRun && !state.info.readOnlyReason) {
      if (request.optional) {
        messages.push(
          `The daemon trusts ${request.url} but uses it only when a build asks: nix build --option extra-substituters ${request.url} …`,
        );
      } else if (cacheInfo) {
        const witness =
          sample?.storePath ??
          (await findSample(ctx, client, request, credentials, timeoutMs).catch(() => null))?.storePath ??
          null;
        if (witness) {
          const others = daemonSubstituters(state).filter((u) => !sameSubstituter(u, request.url));
          proven = await prove(ctx, client, state, { url: request.url, cacheInfo, path: witness, others }, messages);
        } else {
          messages.push(
            `Not proven through the daemon: no path ${request.baseUrl} holds was found to ask it about; pass --probe-path <a store path the cache holds>.`,
          );
        }
      }
    }
    let builders: OnBuilderResult[] | null = null;
    if (request.onBuilders && (outcome.applied || outcome.noop || ctx.options.dryRun)) {
      builders = await addCacheOnBuilders(ctx, {
        url: request.url,
        keys: request.keys.map((k) => k.text),
        optional: request.optional,
      });
      for (const b of builders) messages.push(b.message);
    }
    return {
      url: request.url,
      cacheInfo,
      keyCheck,
      outcome,
      proven,
      messages,
      after: messages.slice(before),
      builders,
    };
  } finally {
    client.close();
  }
}

async function readPassword(ctx: AddCacheContext, file: string): Promise<string> {
  let text: string | null;
  try {
    text = await ctx.host.readText(file);
  } catch {
    text = null;
  }
  const password = text?.replace(/\r?\n$/, "") ?? "";
  if (text === null || password === "") {
    throw badInput("--netrc-password-file", file, text === null ? "cannot read it" : "it is empty");
  }
  if (/\s/.test(password)) {
    throw badInput("--netrc-password-file", file, "the password has spaces or several lines; netrc cannot hold that");
  }
  return password;
}

function describeCacheInfo(request: CacheRequest, info: CacheInfo): string {
  const fromUrl = priorityParam(request.url);
  const advertised =
    info.priority === null
      ? "advertises no priority, so Nix would use 0, ahead of cache.nixos.org's 40"
      : `advertises priority ${info.priority}`;
  const parts = [
    `${request.baseUrl} is a binary cache for /nix/store`,
    fromUrl === null ? advertised : `priority ${fromUrl} from the URL (it ${advertised})`,
    `mass queries ${info.wantMassQuery ? "welcome" : "not wanted"}`,
  ];
  return `${parts.join("; ")}.`;
}

/** A narinfo from the cache to verify the key with: --probe-path, else a path of Nix's own closure. */
async function findSample(
  ctx: AddCacheContext,
  client: ReturnType<typeof cacheClient>,
  request: CacheRequest,
  credentials: { login: string; password: string } | null,
  timeoutMs: number,
): Promise<NarInfo> {
  if (request.probePath !== null) {
    if (!isStorePath(request.probePath)) {
      throw badInput("--probe-path", request.probePath, "a store path such as /nix/store/<hash>-<name>");
    }
    const got = await fetchNarInfo(client, request.baseUrl, request.probePath, credentials, timeoutMs);
    if (got.status === "found") return got.info;
    throw new CrossnixError(
      "CHECK_FAILED",
      `${request.baseUrl} has no narinfo for ${request.probePath}${got.status === "error" ? ` (${got.error})` : ""}`,
      { hint: "pass --probe-path with a path the cache holds, or --no-verify-key", nothingWritten: true },
    );
  }
  ctx.progress("Looking for a path this cache holds, to verify its key…");
  // Nix's own closure (what public caches hold), then the newest paths here (what a cache of one's own builds holds).
  const own = await localCandidatePaths(ctx.host);
  const candidates = [...new Set([...own, ...(await recentStorePaths(200))])];
  const found = await firstCached(client, request.baseUrl, candidates, credentials, timeoutMs);
  if (found) return found;
  throw new CrossnixError(
    "CHECK_FAILED",
    `cannot verify the key: ${request.baseUrl} holds none of the ${candidates.length} paths of Nix's own closure and the newest in the store`,
    {
      hint: "pass --probe-path <a store path the cache holds>, or --no-verify-key to trust the key unchecked",
      nothingWritten: true,
    },
  );
}

function keyName(result: SignatureCheck): string {
  return result.status === "verified" ? result.key : result.status;
}

/** A key that does not verify the cache's signature is refused: Nix would then build everything itself. */
function refuseUnverified(request: CacheRequest, path: string, result: SignatureCheck, keys: PublicKey[]): void {
  if (result.status === "verified" || result.status === "content-addressed") return;
  const given = keys.map((k) => k.name).join(", ") || "none";
  const why =
    result.status === "unsigned"
      ? `its narinfo for ${path} carries no signature`
      : result.status === "unknown-key"
        ? `${path} is signed by ${result.signedBy.join(", ")}, not by ${request.keys.length > 0 ? "--key" : "a key the daemon trusts"} (${given})`
        : `the signature of ${path} by ${result.key} does not verify with the key given: a wrong key of the same name`;
  throw new CrossnixError("CHECK_FAILED", `the key does not verify ${request.baseUrl}: ${why}`, {
    hint:
      result.status === "unsigned"
        ? "sign the cache (nix store sign, or secret-key= on nix copy), or --no-verify-key if the daemon has require-sigs = false"
        : "pass the key the cache's owner publishes: --key name:base64 (or --no-verify-key to write it unchecked)",
    nothingWritten: true,
    detail: { check: result },
  });
}

interface ProofTarget {
  url: string;
  cacheInfo: CacheInfo;
  /** A store path the cache holds. */
  path: string;
  /** The daemon's other substituters: none may hold the path, or its answer proves nothing of this one. */
  others: string[];
}

/**
 * The daemon re-read its settings: ask it (not this process, and with none of this machine's client
 * settings) about a path only this cache holds (docs/binary-caches.md#proof). A path missing here:
 * would it fetch it (queryMissing)? A path valid here: can it substitute it (QuerySubstitutablePaths,
 * which asks caches that want mass queries even for paths the store has)?
 */
async function prove(
  ctx: AddCacheContext,
  client: ReturnType<typeof cacheClient>,
  state: CacheState,
  target: ProofTarget,
  messages: string[],
): Promise<boolean | null> {
  const timeoutMs = ctx.options.timeout * 1000;
  const { path, url } = target;
  const elsewhere = await mapConcurrent(target.others, 8, async (other) => {
    const got = await fetchNarInfo(client, other, path, daemonCredentials(state, fetchUrl(other)), timeoutMs);
    return got.status === "found" ? other : null;
  });
  const holder = elsewhere.find((o) => o !== null);
  if (holder) {
    messages.push(
      `Not proven through the daemon: ${holder} holds ${path} too, so the daemon's answer would not show it reached ${url}; pass --probe-path <a path only ${url} holds>.`,
    );
    return null;
  }
  const invalid = await invalidPaths(ctx.host, [path]);
  const daemonTimeout = Math.max(timeoutMs, 30_000);
  if (invalid?.has(path)) {
    ctx.progress("Asking the restarted daemon for that path…");
    const { fetched, stderr } = await daemonWouldFetch(ctx.host, path, daemonTimeout);
    if (fetched)
      messages.push(`Proven: the daemon would fetch ${path} from ${url}, the only one of its caches that holds it.`);
    else
      messages.push(
        `The daemon does not reach ${url}: it would not fetch ${path}, which ${url} holds${lastLines(stderr)}.`,
      );
    return fetched;
  }
  if (!target.cacheInfo.wantMassQuery) {
    messages.push(
      `Not proven through the daemon: ${path} is already in the store, and ${url} does not want mass queries (WantMassQuery), the only way the daemon asks a cache about a path it has; pass --probe-path <a path the cache holds and this machine does not>.`,
    );
    return null;
  }
  ctx.progress("Asking the restarted daemon whether it can substitute that path…");
  const { substitutable, stderr } = await daemonSubstitutable(ctx.host, path, daemonTimeout);
  if (substitutable === null) {
    messages.push(`Not proven through the daemon: nix-env -qa --status gave no answer${lastLines(stderr)}.`);
    return null;
  }
  if (substitutable) {
    messages.push(
      `Proven: the daemon reached ${url}: it says ${path} (already here) can be substituted, and ${url} is the only one of its caches that holds it.`,
    );
  } else {
    messages.push(
      `The daemon does not reach ${url}: asked whether it can substitute ${path}, which ${url} holds, it says no${lastLines(stderr)}. A daemon reads its settings only when it starts: is it running with them?`,
    );
  }
  return substitutable;
}

function lastLines(stderr: string): string {
  const last = stderr.trim().split("\n").slice(-2).join(" ");
  return last ? ` (${last})` : "";
}
