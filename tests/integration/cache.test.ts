// Binary caches on the test bed: real signed caches made by `nix copy`, served on loopback, added with
// `crossnix cache add` to the sandbox's root nix-daemon; a user the daemon does not trust then builds.
import * as fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  assertTestbedReady,
  type Builder,
  type BuilderOptions,
  buildProbe,
  CacheServer,
  clientIdentity,
  startBuilders,
  type CacheServerOptions,
  createSandbox,
  makeCache,
  makeSigningKey,
  newNonce,
  probeArgs,
  type Sandbox,
  type SigningKey,
} from "#testbed";
import { useTestBed } from "#testbed/vitest";
import { crossnixIn } from "../helpers/sandbox-cli.js";

const ready = useTestBed();

interface CheckJson {
  paths: { path: string; status: string; cache?: string; unverifiedIn?: { cache: string; why: string }[] }[];
  summary: { cached: number; build: number; total: number };
  fetchedButUnverified: string[];
  signaturesVerifiedWith: string | null;
}

describe.skipIf(!ready)("crossnix cache on the test bed", () => {
  let sandbox: Sandbox;
  let work: string;
  let goodKey: SigningKey;
  let otherKey: SigningKey;
  const servers: CacheServer[] = [];
  const crossnix = (args: string[], user?: string) => crossnixIn(sandbox, args, user ? { user } : {});
  const nixConf = () => sandbox.readFile("/etc/nix/nix.conf");
  /** `cache add <url> --key <good key> [--probe-path <path>] <more…> --yes`. */
  const addWithGoodKey = (url: string, probePath: string | null, ...more: string[]) =>
    crossnix([
      "cache",
      "add",
      url,
      "--key",
      goodKey.publicKey,
      ...(probePath ? ["--probe-path", probePath] : []),
      ...more,
      "--yes",
    ]);
  /** A test bed builder registered with `builder add --name <name>`, the daemon's SSH key for it. */
  async function addBuilder(name: string, spec: BuilderOptions): Promise<Builder> {
    const [builder] = await startBuilders([spec]);
    const key = "/etc/nix/testbed_client_ed25519";
    sandbox.writeFile(key, fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8"), 0o600);
    const target = `${builder!.user}@${builder!.address}:${builder!.port}`;
    const add = await crossnix(["builder", "add", target, "--name", name, "--identity", key, "--yes"]);
    expect(add.exitCode, add.stderr).toBe(0);
    return builder!;
  }
  /** `cache remove <url>` succeeds and leaves nix.conf as it was before the add. */
  async function removeCache(url: string, before: string) {
    const remove = await crossnix(["cache", "remove", url, "--yes"]);
    expect(remove.exitCode, remove.stderr).toBe(0);
    expect(nixConf()).toBe(before);
  }

  /** A probe output built here, copied into a new cache, then deleted from the store. */
  async function cachedProbe(name: string, key: SigningKey | undefined, server: Omit<CacheServerOptions, "dir"> = {}) {
    const nonce = newNonce();
    const built = await buildProbe(sandbox, "x86_64-linux", { nonce, user: "root" });
    expect(built.result.exitCode, built.result.stderr).toBe(0);
    const out = built.outPath!;
    const dir = path.join(work, name);
    await makeCache(dir, [out], { ...(key ? { key } : {}), run: (argv) => sandbox.run(argv) });
    const del = await sandbox.run(["nix-store", "--delete", out]);
    expect(del.exitCode, del.stderr).toBe(0);
    const cache = await CacheServer.start({ dir, ...server });
    servers.push(cache);
    return { nonce, out, cache, args: ["--", "-f", ...probeArgs("x86_64-linux", { nonce })] };
  }

  beforeAll(async () => {
    assertTestbedReady();
    sandbox = await createSandbox();
    work = path.join(sandbox.tmpDir, "caches");
    fs.mkdirSync(work, { recursive: true });
    goodKey = makeSigningKey(path.join(work, "keys"), "crossnix-test-1");
    otherKey = makeSigningKey(path.join(work, "keys-other"), "crossnix-test-1");
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it("after cache add, an untrusted user's build substitutes through the daemon, as cache check predicted", async () => {
    const { out, cache, args } = await cachedProbe("good", goodKey);
    const before = nixConf();
    const add = await addWithGoodKey(cache.url, out, "--json");
    expect(add.exitCode, add.stderr).toBe(0);
    const added = JSON.parse(add.stdout) as { proven: boolean; keyCheck: { result: { status: string } } };
    expect(added.keyCheck.result.status).toBe("verified");
    expect(added.proven).toBe(true);
    expect(nixConf()).toContain(`extra-substituters = ${cache.url}`);
    expect(nixConf()).toContain(`extra-trusted-public-keys = ${goodKey.publicKey}`);

    const check = await crossnix(["cache", "check", "--json", ...args], sandbox.clientUser);
    expect(check.exitCode, check.stderr).toBe(0);
    const predicted = JSON.parse(check.stdout) as CheckJson;
    expect(predicted.paths.find((p) => p.path === out)).toMatchObject({ status: "cached", cache: cache.url });
    // Checked on cache check's own thread with libsodium, not on the main thread.
    expect(predicted.signaturesVerifiedWith).toBe("libsodium");

    const narsBefore = cache.narDownloads();
    const build = await sandbox.run(["nix-build", ...args.slice(2), "--no-out-link"], { user: sandbox.clientUser });
    expect(build.exitCode, build.stderr).toBe(0);
    expect(build.stdout.trim()).toBe(out);
    expect(build.stderr).toContain(`copying path '${out}' from '${cache.url}'`);
    expect(build.stderr).not.toContain("building '");
    expect(cache.narDownloads()).toBeGreaterThan(narsBefore);

    await removeCache(cache.url, before);
  });

  it("without --probe-path, cache add proves through the daemon with a path already here, and the proof fails for a daemon not restarted", async () => {
    // A probe built here and kept: the cache holds a path that is valid in this store.
    const built = await buildProbe(sandbox, "x86_64-linux", { nonce: newNonce(), user: "root" });
    expect(built.result.exitCode, built.result.stderr).toBe(0);
    const out = built.outPath!;
    const dir = path.join(work, `here-${newNonce()}`);
    await makeCache(dir, [out], { key: goodKey, cacheInfo: ["WantMassQuery: 1"], run: (argv) => sandbox.run(argv) });
    const before = nixConf();
    type Added = { proven: boolean | null; keyCheck: { path: string }; messages: string[] };

    const cache = await CacheServer.start({ dir });
    servers.push(cache);
    const add = await addWithGoodKey(cache.url, null, "--json");
    expect(add.exitCode, add.stderr).toBe(0);
    const added = JSON.parse(add.stdout) as Added;
    // The key was checked on the newest path here, found by crossnix itself in the cache.
    expect(added.keyCheck.path).toBe(out);
    expect(added.proven).toBe(true);
    expect(added.messages.join("\n")).toContain(
      `Proven: the daemon reached ${cache.url}: it says ${out} (already here)`,
    );
    // crossnix asked for the narinfo (key check), then the daemon did.
    expect(cache.narinfoRequests(out)).toBeGreaterThanOrEqual(2);
    await removeCache(cache.url, before);

    // The same settings written by hand, the daemon not restarted: add has nothing to write, so it
    // restarts nothing, and the daemon (still on its old settings) does not know the cache.
    const stale = await CacheServer.start({ dir });
    servers.push(stale);
    sandbox.writeFile(
      "/etc/nix/nix.conf",
      `${before.trimEnd()}\nextra-substituters = ${stale.url}\nextra-trusted-public-keys = ${goodKey.publicKey}\n`,
    );
    const again = await addWithGoodKey(stale.url, null, "--json");
    expect(again.exitCode).toBe(1);
    const notProven = JSON.parse(again.stdout) as Added;
    expect(notProven.proven).toBe(false);
    expect(notProven.messages.join("\n")).toContain(`The daemon does not reach ${stale.url}`);
    sandbox.writeFile("/etc/nix/nix.conf", before);

    // A cache that does not want mass queries: the daemon never asks it about a path it has.
    const quiet = path.join(work, `quiet-${newNonce()}`);
    await makeCache(quiet, [out], { key: goodKey, run: (argv) => sandbox.run(argv) });
    const shy = await CacheServer.start({ dir: quiet });
    servers.push(shy);
    const shyAdd = await addWithGoodKey(shy.url, null, "--json");
    expect(shyAdd.exitCode, shyAdd.stderr).toBe(0);
    const shyAdded = JSON.parse(shyAdd.stdout) as Added;
    expect(shyAdded.proven).toBeNull();
    expect(shyAdded.messages.join("\n")).toContain("does not want mass queries");
    await removeCache(shy.url, before);
  });

  it("a wrong key makes Nix build instead, and cache check says so before", async () => {
    const { out, cache, args } = await cachedProbe("wrong-key", otherKey);
    const before = nixConf();
    const refused = await addWithGoodKey(cache.url, out);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("does not verify");
    expect(refused.stderr).toContain("Nothing was written.");
    expect(nixConf()).toBe(before);

    const forced = await addWithGoodKey(cache.url, null, "--no-verify-key");
    expect(forced.exitCode, forced.stderr).toBe(0);
    const check = await crossnix(["cache", "check", "--json", ...args], sandbox.clientUser);
    expect(check.exitCode, check.stderr).toBe(0);
    const predicted = JSON.parse(check.stdout) as CheckJson;
    const verdict = predicted.paths.find((p) => p.path === out);
    expect(verdict?.status).toBe("build");
    expect(verdict?.unverifiedIn?.[0]?.cache).toBe(cache.url);
    // The dry run believes the path will be fetched; crossnix knows the signature will be refused.
    expect(predicted.fetchedButUnverified).toContain(out);

    const build = await sandbox.run(["nix-build", ...args.slice(2), "--no-out-link"], { user: sandbox.clientUser });
    expect(build.exitCode, build.stderr).toBe(0);
    expect(build.stderr).toContain("is not signed by any of the keys in 'trusted-public-keys'");
    expect(build.stderr).toContain("building '");
    expect(cache.narDownloads()).toBe(0);
    await removeCache(cache.url, before);
  });

  it.each([
    ["answers 403", { mode: "forbidden" as const }, "good", /HTTP 403/],
    ["hangs", { mode: "hang" as const }, "good", /no answer within 2 s/],
    ["is unsigned", {}, "none", /carries no signature/],
    ["is signed by a key crossnix was not given", {}, "other-name", /signed by other-name-1, not by --key/],
  ])("a cache that %s is refused with exit 1 and nothing written", async (_what, server, signer, message) => {
    const key =
      signer === "good"
        ? goodKey
        : signer === "other-name"
          ? makeSigningKey(path.join(work, "keys-c"), "other-name-1")
          : undefined;
    const { out, cache } = await cachedProbe(`refused-${newNonce()}`, key, server);
    const before = nixConf();
    const add = await addWithGoodKey(cache.url, out, "--timeout", "2");
    expect(add.exitCode, add.stderr).toBe(1);
    expect(add.stderr).toMatch(message);
    expect(add.stderr).toContain("Nothing was written.");
    expect(nixConf()).toBe(before);
  });

  it("a cache behind basic auth works once the daemon's netrc has the credentials, which are never shown", async () => {
    const credentials = { login: "ci", password: `s3cret-${newNonce()}` };
    const { out, cache } = await cachedProbe("auth", goodKey, { mode: "basic-auth", credentials });
    const without = await addWithGoodKey(cache.url, out);
    expect(without.exitCode).toBe(1);
    expect(without.stderr).toContain("HTTP 401");
    sandbox.writeFile("/root/.ssh/cache-token", `${credentials.password}\n`, 0o600);
    const add = await addWithGoodKey(
      cache.url,
      out,
      "--netrc-login",
      credentials.login,
      "--netrc-password-file",
      "/root/.ssh/cache-token",
      "--json",
    );
    expect(add.exitCode, add.stderr).toBe(0);
    expect(add.stdout + add.stderr).not.toContain(credentials.password);
    expect((JSON.parse(add.stdout) as { proven: boolean }).proven).toBe(true);
    const netrc = sandbox.path("/etc/nix/netrc");
    expect(fs.statSync(netrc).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(netrc, "utf8")).toContain(`machine 127.0.0.1 login ci password ${credentials.password}`);
    expect(nixConf()).not.toContain(credentials.password);
    const remove = await crossnix(["cache", "remove", cache.url, "--yes"]);
    expect(remove.exitCode, remove.stderr).toBe(0);
    expect(fs.existsSync(netrc)).toBe(false);
  });

  it("bad input exits 2 naming the value, with nothing written", async () => {
    const before = nixConf();
    for (const args of [["ftp://127.0.0.1/cache"], ["cachix:Not_Valid"], ["http://127.0.0.1:9", "--key", "broken"]]) {
      const run = await crossnix(["cache", "add", ...args, "--yes"]);
      expect(run.exitCode, run.stderr).toBe(2);
      expect(run.stderr).toContain(`'${args.at(-1)}'`);
      expect(run.stderr).toContain("Nothing was written.");
    }
    expect(nixConf()).toBe(before);
  });

  it("doctor names a user's cache settings the daemon ignores, and a nix copy cache outranking cache.nixos.org", async () => {
    const { cache } = await cachedProbe("doctor", goodKey);
    const home = `/home/${sandbox.clientUser}`;
    sandbox.writeFile(`${home}/.config/nix/nix.conf`, `extra-substituters = ${cache.url}\n`);
    const before = nixConf();
    sandbox.writeFile("/etc/nix/nix.conf", `${before}substituters = https://cache.nixos.org/ ${cache.url}\n`);
    try {
      const run = await crossnix(["doctor", "--json", "--no-build", "--timeout", "2"], sandbox.clientUser);
      const checks = (JSON.parse(run.stdout) as { checks: { id: string; status: string; observed: string }[] }).checks;
      const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
      // The daemon lists the URL now, so the user's line is honoured; the cache still outranks cache.nixos.org.
      expect(byId["cache.user-settings"]?.status).toBe("ok");
      expect(byId["cache.priority"]?.status).toBe("warn");
      expect(byId["cache.priority"]?.observed).toContain(cache.url);
      sandbox.writeFile("/etc/nix/nix.conf", before);
      const again = await crossnix(["doctor", "--json", "--no-build", "--timeout", "2"], sandbox.clientUser);
      const after = (JSON.parse(again.stdout) as { checks: { id: string; status: string; observed: string }[] }).checks;
      const ignored = after.find((c) => c.id === "cache.user-settings");
      expect(ignored?.status).toBe("warn");
      expect(ignored?.observed).toContain(`${cache.url} (${home}/.config/nix/nix.conf:1)`);
    } finally {
      sandbox.writeFile("/etc/nix/nix.conf", before);
    }
  });

  it("cache check --builders asks each builder, over the daemon's SSH, whether it can use each cache", async () => {
    const builder = await addBuilder("cb1", { systems: ["x86_64-linux"] });
    const { out, cache, args } = await cachedProbe("builders", goodKey);
    expect((await addWithGoodKey(cache.url, out)).exitCode).toBe(0);
    try {
      const run = await crossnix(["cache", "check", "--builders", "--json", ...args]);
      expect(run.exitCode, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout) as {
        builders: {
          builder: string;
          error: string | null;
          caches: { url: string; reachable: boolean; listed: boolean; keyTrusted: boolean }[];
        }[];
      };
      // The builder's Nix opens the loopback cache, but its own configuration neither lists it nor trusts its key.
      expect(result.builders).toEqual([
        {
          builder: "cb1",
          error: null,
          view: "user",
          caches: [{ url: cache.url, reachable: true, why: null, listed: false, keyTrusted: false }],
        },
      ]);
      const text = await crossnix(["cache", "check", "--builders", ...args]);
      expect(text.stdout).toContain(`cb1: cannot use ${cache.url}: not in its substituters, no trusted key for it`);
    } finally {
      await crossnix(["cache", "remove", cache.url, "--yes"]);
      await crossnix(["builder", "remove", "cb1", "--yes"]);
      await builder.stop();
    }
  });

  it("cache add --on-builders writes the cache into each builder's nix.conf through sudo there, and --builders then sees it", async () => {
    const b = await addBuilder("cb2", { systems: ["x86_64-linux"], multiUser: true, sudo: true });
    // root's own SSH login, which --on-builders connects with (as builder setup-remote does).
    sandbox.writeFile("/root/.ssh/id_ed25519", fs.readFileSync((await clientIdentity()).privateKeyPath, "utf8"), 0o600);
    const { out, cache, args } = await cachedProbe("on-builders", goodKey);
    const startsBefore = b.daemonJournal().filter((l) => l.startsWith("started")).length;
    try {
      const run = await addWithGoodKey(cache.url, out, "--on-builders", "--json");
      expect(run.exitCode, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout) as { builders: { builder: string; status: string }[] };
      expect(result.builders).toEqual([expect.objectContaining({ builder: "cb2", status: "changed" })]);
      const conf = fs.readFileSync(path.join(b.etcNixDir, "nix.conf"), "utf8");
      expect(conf).toContain(`extra-substituters = ${cache.url}`);
      expect(conf).toContain(`extra-trusted-public-keys = ${goodKey.publicKey}`);
      expect(b.daemonJournal().filter((l) => l.startsWith("started")).length).toBeGreaterThan(startsBefore);

      const check = await crossnix(["cache", "check", "--builders", "--json", ...args]);
      expect(check.exitCode, check.stderr).toBe(0);
      const seen = JSON.parse(check.stdout) as { builders: { builder: string; view: string; caches: unknown[] }[] };
      // A multi-user builder substitutes in its daemon, which reads the system nix.conf crossnix edited.
      expect(seen.builders.find((x) => x.builder === "cb2")?.view).toBe("daemon");
      expect(seen.builders.find((x) => x.builder === "cb2")?.caches).toEqual([
        { url: cache.url, reachable: true, why: null, listed: true, keyTrusted: true },
      ]);
    } finally {
      await crossnix(["cache", "remove", cache.url, "--yes"]);
      await crossnix(["builder", "remove", "cb2", "--yes"]);
      await b.stop();
    }
  });
});
