// The cache use cases in-process on a temp-rooted machine, against a real HTTP cache on loopback
// holding a narinfo Nix 2.8 wrote and signed: add (checks, plan, record), list, remove, refusals.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { addCache } from "../../src/app/caches/add.js";
import { listCaches } from "../../src/app/caches/list.js";
import { removeCache } from "../../src/app/caches/remove.js";
import type { Context } from "../../src/context.js";
import { parseCacheRequest } from "../../src/core/caches/request.js";
import { CrossnixError } from "../../src/errors.js";
import { createHost } from "../../src/host/system/host.js";
import { CacheServer, type CacheServerOptions } from "../../testbed/cache-server.js";

// Written by Nix 2.8.0 on this machine (nix copy --to 'file://…?secret-key=…'); see tests/unit/cache-core.test.ts.
const KEY = "test-1:lpv6wHhjT6GP4mmf0+rnT2EVfttSPhZCBHgmAtitMoY=";
const PATH = "/nix/store/l3nxz906a6v11f8z204flm0jmkpsi1zh-cx13-top";
const NARINFO = `StorePath: ${PATH}
URL: nar/1x0v17c9jc78c0dyay8s63wx09wg98fb96axbzlvcmn2sjqmdp7q.nar
Compression: none
FileHash: sha256:1x0v17c9jc78c0dyay8s63wx09wg98fb96axbzlvcmn2sjqmdp7q
FileSize: 168
NarHash: sha256:1x0v17c9jc78c0dyay8s63wx09wg98fb96axbzlvcmn2sjqmdp7q
NarSize: 168
References: mrg474fpfzadx5c13gqimbff6j3007pd-cx13-dep
Deriver: nhyi2r6qmpn7gwi563c11clljmljvw20-cx13-top.drv
Sig: test-1:VUOoYs9OGB94YD6RdH319o1wri4UH16Wv7SkS5QW9RTxYYREyGfQwLwv8Irz7JIv9sRZdBP/xC8n3Nmc8oQ+Cw==
`;
const NIX_CONF = "# mine\nsubstituters = https://cache.nixos.org/\nmax-jobs = 2\n";

let root: string;
let cacheDir: string;
const servers: CacheServer[] = [];

async function serve(options: Omit<CacheServerOptions, "dir"> = {}): Promise<CacheServer> {
  const server = await CacheServer.start({ dir: cacheDir, ...options });
  servers.push(server);
  return server;
}

function context() {
  const seen: string[] = [];
  const ctx: Context = {
    // NIX_REMOTE points at no daemon: the proof through the daemon is the integration test's job.
    host: createHost({ ...process.env, CROSSNIX_ROOT: root, CROSSNIX_PLATFORM: "linux", NIX_REMOTE: "daemon" }),
    options: { json: false, dryRun: false, yes: true, verbose: false, color: false, timeout: 2 },
    prompt: { interactive: false, confirm: async () => false, ask: async () => "" },
    out: (t) => seen.push(t),
    warn: (t) => seen.push(t),
    progress: (t) => seen.push(t),
    debug: () => {},
  };
  return { ctx, seen };
}

const nixConf = () => readFile(path.join(root, "etc/nix/nix.conf"), "utf8");

async function refusal(promise: Promise<unknown>): Promise<CrossnixError> {
  const error = await promise.catch((e: unknown) => e);
  if (!(error instanceof CrossnixError)) throw new Error(`expected a CrossnixError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-app-cache-"));
  await mkdir(path.join(root, "etc/nix"), { recursive: true });
  await writeFile(path.join(root, "etc/nix/nix.conf"), NIX_CONF);
  cacheDir = path.join(root, "srv/cache");
  await mkdir(cacheDir, { recursive: true });
  await writeFile(path.join(cacheDir, "nix-cache-info"), "StoreDir: /nix/store\n");
  await writeFile(path.join(cacheDir, `${path.basename(PATH).slice(0, 32)}.narinfo`), NARINFO);
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("cache add, list and remove", () => {
  it("adds a cache whose key verifies, lists it with its priority, and removes exactly what it wrote", async () => {
    const server = await serve();
    const request = parseCacheRequest(server.url, { key: [KEY], probePath: PATH, priority: "50" });
    const result = await addCache(context().ctx, request);
    expect(result.keyCheck?.result).toEqual({ status: "verified", key: "test-1" });
    expect(result.cacheInfo).toEqual({ storeDir: "/nix/store", wantMassQuery: null, priority: null });
    expect(result.outcome.applied).toBe(true);
    expect(await nixConf()).toBe(
      `${NIX_CONF}# crossnix: binary caches the daemon uses (crossnix cache add)\nextra-substituters = ${server.url}?priority=50\n# crossnix: keys those caches sign with (crossnix cache add)\nextra-trusted-public-keys = ${KEY}\n`,
    );

    const listed = await listCaches(context().ctx);
    const mine = listed.caches.find((c) => c.url === `${server.url}?priority=50`);
    expect(mine).toMatchObject({
      role: "daemon",
      priority: 50,
      reachable: true,
      keys: ["test-1"],
      addedByCrossnix: true,
    });
    expect(mine?.source).toBe("/etc/nix/nix.conf:5");

    const again = await addCache(context().ctx, request);
    expect(again.outcome.noop).toBe(true);

    const removed = await removeCache(context().ctx, server.url);
    expect(removed.outcome.applied).toBe(true);
    expect(await nixConf()).toBe(NIX_CONF);
  });

  it("refuses a key that does not verify, a URL that is not a cache, and one that never answers: nothing written", async () => {
    const server = await serve();
    const other = "test-1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const wrong = await refusal(
      addCache(context().ctx, parseCacheRequest(server.url, { key: [other], probePath: PATH })),
    );
    expect(wrong.exitCode).toBe(1);
    expect(wrong.message).toContain("does not verify");
    const missing = await refusal(
      addCache(context().ctx, parseCacheRequest(`${server.url}/not-here`, { key: [KEY], probePath: PATH })),
    );
    expect(missing.message).toContain("HTTP 404");
    const hung = await serve({ mode: "hang" });
    const hangs = await refusal(addCache(context().ctx, parseCacheRequest(hung.url, { key: [KEY], probePath: PATH })));
    expect(hangs.message).toContain("no answer within 2 s");
    for (const e of [wrong, missing, hangs]) expect(e.nothingWritten).toBe(true);
    expect(await nixConf()).toBe(NIX_CONF);
  });

  it("puts basic-auth credentials in the daemon's netrc (0600), never in nix.conf or the output", async () => {
    const password = "pa55-word-never-shown";
    const server = await serve({ mode: "basic-auth", credentials: { login: "ci", password } });
    // Like every path crossnix is given, the file is read under CROSSNIX_ROOT.
    await writeFile(path.join(root, "token"), `${password}\n`);
    const passwordFile = "/token";
    const { ctx, seen } = context();
    const flags = { key: [KEY], probePath: PATH, netrcLogin: "ci", netrcPasswordFile: passwordFile };
    const result = await addCache(ctx, parseCacheRequest(server.url, flags));
    expect(result.outcome.applied).toBe(true);
    const netrc = path.join(root, "etc/nix/netrc");
    expect((await stat(netrc)).mode & 0o777).toBe(0o600);
    expect(await readFile(netrc, "utf8")).toBe(`machine 127.0.0.1 login ci password ${password}\n`);
    expect(await nixConf()).not.toContain(password);
    expect(JSON.stringify([seen, result])).not.toContain(password);
    await removeCache(context().ctx, server.url);
    await expect(stat(netrc)).rejects.toThrow(/ENOENT/);
    expect(await nixConf()).toBe(NIX_CONF);
  });
});
