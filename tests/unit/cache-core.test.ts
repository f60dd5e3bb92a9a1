// Binary-cache core: narinfo and nix-cache-info parsing, signatures against real Nix 2.8 output,
// known caches, request validation, nix.conf word edits and netrc entries.
import { generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { looksLikeCacheInfo, parseCacheInfo } from "../../src/core/caches/cache-info.js";
import { addTokens, removeTokens, tokensOf } from "../../src/core/caches/conf-tokens.js";
import { checkSignatures, checkSignaturesAsync, parsePublicKey, publicKeyProblem } from "../../src/core/caches/keys.js";
import { libsodiumVerify, nodeCryptoVerify } from "../../src/host/caches/ed25519.js";
import { signatureVerifier } from "../../src/host/caches/signature-verifier.js";
import { type NarInfo, hashPart, narInfoFingerprint, parseNarInfo } from "../../src/core/caches/narinfo.js";
import { netrcCredentials, removeNetrcEntry, setNetrcEntry } from "../../src/core/caches/netrc.js";
import { canonicalHash, fromNix32, toNix32 } from "../../src/core/caches/nix32.js";
import { planAddCache } from "../../src/core/caches/plan.js";
import { parseCacheRequest } from "../../src/core/caches/request.js";
import { substituterView } from "../../src/core/caches/substituters.js";
import { parseNixConf, renderNixConf } from "../../src/core/formats/nix-conf.js";
import { CrossnixError } from "../../src/errors.js";

// Made on this machine with Nix 2.8.0: nix-store --generate-binary-cache-key test-1 sk pk, then
// nix copy --to 'file:///…?compression=none&secret-key=sk' of a two-derivation closure.
const KEY = "test-1:lpv6wHhjT6GP4mmf0+rnT2EVfttSPhZCBHgmAtitMoY=";
const TOP = `StorePath: /nix/store/l3nxz906a6v11f8z204flm0jmkpsi1zh-cx13-top
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
const CA = `StorePath: /nix/store/3gccy1rxjqrccnp20p5v1pzpqz3030n4-f.txt
URL: nar/0ap5884n3yi9lf3vmvsdmgmcf5jj33b38xp53kn0p41r2qv5ak33.nar
Compression: none
FileHash: sha256:0ap5884n3yi9lf3vmvsdmgmcf5jj33b38xp53kn0p41r2qv5ak33
FileSize: 128
NarHash: sha256:0ap5884n3yi9lf3vmvsdmgmcf5jj33b38xp53kn0p41r2qv5ak33
NarSize: 128
References: 
Sig: test-1:SR8JUmzn4j34jHL8nVJe/r3BTDLlSnJnve5GjRMVKTxKMcbkqV4p9O4j9/oSgee4b1v/ApaalGMQoFOuZKpTDg==
CA: fixed:r:sha256:0ap5884n3yi9lf3vmvsdmgmcf5jj33b38xp53kn0p41r2qv5ak33
`;

function parsed(text: string): NarInfo {
  const result = parseNarInfo(text);
  if (!result.ok) throw new Error(result.error);
  return result.info;
}

describe("narinfo", () => {
  it("reads every field Nix writes, references as full paths", () => {
    const info = parsed(TOP);
    expect(info.storePath).toBe("/nix/store/l3nxz906a6v11f8z204flm0jmkpsi1zh-cx13-top");
    expect(info.references).toEqual(["/nix/store/mrg474fpfzadx5c13gqimbff6j3007pd-cx13-dep"]);
    expect(info.deriver).toBe("/nix/store/nhyi2r6qmpn7gwi563c11clljmljvw20-cx13-top.drv");
    expect(info.fileSize).toBe(168);
    expect(info.sigs).toHaveLength(1);
    expect(hashPart(info.storePath)).toBe("l3nxz906a6v11f8z204flm0jmkpsi1zh");
  });

  it("builds the fingerprint Nix signs", () => {
    expect(narInfoFingerprint(parsed(TOP))).toBe(
      "1;/nix/store/l3nxz906a6v11f8z204flm0jmkpsi1zh-cx13-top;sha256:1x0v17c9jc78c0dyay8s63wx09wg98fb96axbzlvcmn2sjqmdp7q;168;/nix/store/mrg474fpfzadx5c13gqimbff6j3007pd-cx13-dep",
    );
  });

  it("defaults Compression to bzip2 and refuses what Nix calls corrupt", () => {
    expect(parsed(TOP.replace("Compression: none\n", "")).compression).toBe("bzip2");
    expect(parseNarInfo(TOP.replace(/NarSize: 168\n/, ""))).toEqual({ ok: false, error: "NarSize missing or zero" });
    expect(parseNarInfo(TOP.replace(/^StorePath: .*\n/, "")).ok).toBe(false);
    expect(parseNarInfo("<html>not found</html>").ok).toBe(false);
  });
});

describe("signatures", () => {
  const key = parsePublicKey(KEY)!;

  it("verifies Nix 2.8's signature with the cache's key", () => {
    expect(checkSignatures(parsed(TOP), [key])).toEqual({ status: "verified", key: "test-1" });
  });

  it("a changed field, another key of the same name, or no key breaks it", () => {
    expect(checkSignatures(parsed(TOP.replace("NarSize: 168", "NarSize: 169")), [key]).status).toBe("bad-signature");
    const other = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(12);
    const impostor = parsePublicKey(`test-1:${other.toString("base64")}`)!;
    expect(checkSignatures(parsed(TOP), [impostor])).toEqual({ status: "bad-signature", key: "test-1" });
    expect(checkSignatures(parsed(TOP), [])).toEqual({ status: "unknown-key", signedBy: ["test-1"] });
    expect(checkSignatures(parsed(TOP.replace(/^Sig: .*\n/m, "")), [key])).toEqual({ status: "unsigned" });
  });

  it("the thread-pool variant agrees", async () => {
    expect(await checkSignaturesAsync(parsed(TOP), [key])).toEqual({ status: "verified", key: "test-1" });
    expect(await checkSignaturesAsync(parsed(TOP.replace("NarSize: 168", "NarSize: 169")), [key])).toEqual({
      status: "bad-signature",
      key: "test-1",
    });
    expect(await checkSignaturesAsync(parsed(CA), [])).toEqual({ status: "content-addressed" });
  });

  it("libsodium and node:crypto give the same verdicts", () => {
    const sodium = libsodiumVerify();
    // sodium-native is a dependency with prebuilt binaries for Linux and macOS: it must load here.
    expect(sodium).not.toBeNull();
    const fingerprint = narInfoFingerprint(parsed(TOP))!;
    const signature = parsed(TOP).sigs[0]!.slice("test-1:".length);
    const key = KEY.slice("test-1:".length);
    const other = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(12);
    const flipped = Buffer.from(signature, "base64");
    flipped[10] = (flipped[10] as number) ^ 1;
    const cases: [string, string, string, boolean][] = [
      [fingerprint, signature, key, true],
      [fingerprint.replace(";168;", ";169;"), signature, key, false],
      [fingerprint, flipped.toString("base64"), key, false],
      [fingerprint, signature, other.toString("base64"), false],
      [fingerprint, signature.slice(0, 40), key, false],
      [fingerprint, signature, "AAAA", false],
    ];
    for (const verify of [sodium!, nodeCryptoVerify()]) {
      expect(cases.map(([f, s, k]) => verify(f, s, k))).toEqual(cases.map((c) => c[3]));
    }
  });

  it("without the compiled signature thread (running from sources), libuv's pool verifies", async () => {
    const verifier = signatureVerifier();
    expect(verifier.engine()).toBeNull();
    expect(await checkSignaturesAsync(parsed(TOP), [key], verifier.verify)).toEqual({
      status: "verified",
      key: "test-1",
    });
    expect(verifier.engine()).toBe("node:crypto on libuv's pool");
    verifier.close();
  });

  it("content-addressed paths need no trusted signature", () => {
    expect(checkSignatures(parsed(CA), [])).toEqual({ status: "content-addressed" });
  });

  it("a fresh key pair signs and verifies the same fingerprint (SRI and base16 hashes too)", () => {
    const pair = generateKeyPairSync("ed25519");
    const raw = pair.publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("base64");
    const info = parsed(TOP.replace(/^Sig: .*\n/m, ""));
    const fingerprint = narInfoFingerprint(info)!;
    const sig = sign(null, Buffer.from(fingerprint), pair.privateKey).toString("base64");
    const hex = Buffer.from(fromNix32("1x0v17c9jc78c0dyay8s63wx09wg98fb96axbzlvcmn2sjqmdp7q", 32)!).toString("hex");
    for (const narHash of [info.narHash, `sha256:${hex}`, `sha256-${Buffer.from(hex, "hex").toString("base64")}`]) {
      const signed = { ...info, narHash, sigs: [`mine-1:${sig}`] };
      expect(checkSignatures(signed, [parsePublicKey(`mine-1:${raw}`)!]).status).toBe("verified");
    }
  });

  it("nix32 round-trips", () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => (i * 37) & 0xff);
    expect(fromNix32(toNix32(bytes), 32)).toEqual(bytes);
    expect(canonicalHash("sha256:zzz")).toBeNull();
  });

  it("names what is wrong with a malformed key", () => {
    expect(publicKeyProblem(KEY)).toBeNull();
    expect(publicKeyProblem("no-colon")).toMatch(/name:base64/);
    expect(publicKeyProblem("k-1:AAAA")).toMatch(/32 bytes/);
    expect(publicKeyProblem("k-1:not base64!")).toMatch(/no spaces|base64/);
  });
});

describe("nix-cache-info", () => {
  it("reads the three fields and tells a cache from a web page", () => {
    expect(parseCacheInfo("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n")).toEqual({
      storeDir: "/nix/store",
      wantMassQuery: true,
      priority: 40,
    });
    expect(parseCacheInfo("StoreDir: /nix/store\n").priority).toBeNull();
    expect(looksLikeCacheInfo("<!doctype html><html>")).toBe(false);
    expect(looksLikeCacheInfo("StoreDir: /nix/store\n")).toBe(true);
  });
});

function badInputOf(fn: () => unknown): CrossnixError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CrossnixError) return error;
    throw error;
  }
  throw new Error("expected bad input");
}

describe("cache requests", () => {
  it("resolves known names and cachix:NAME with their keys", () => {
    const nixos = parseCacheRequest("nixos", {});
    expect(nixos.url).toBe("https://cache.nixos.org");
    expect(nixos.keys.map((k) => k.name)).toEqual(["cache.nixos.org-1"]);
    const community = parseCacheRequest("cachix:nix-community", {});
    expect(community.url).toBe("https://nix-community.cachix.org");
    expect(community.knownKeys).toBe(true);
    const mine = parseCacheRequest("cachix:my-cache", { key: [`my-cache.cachix.org-1:${KEY.split(":")[1]}`] });
    expect(mine.url).toBe("https://my-cache.cachix.org");
    expect(parseCacheRequest("flakehub", {}).needsAuth).toBe(true);
  });

  it("writes --priority into the URL and drops a trailing slash", () => {
    expect(parseCacheRequest("http://127.0.0.5:8080/", { priority: "50" }).url).toBe(
      "http://127.0.0.5:8080?priority=50",
    );
  });

  it.each([
    ["ftp://cache.example.org", {}, /not ftp/],
    ["gopher:x", {}, /not gopher/],
    ["cache example", {}, /no spaces/],
    ["cachix:Bad_Name", {}, /lower-case/],
    ["cachix:", {}, /empty/],
    ["cachix:my-cache", {}, /needs its public key: --key my-cache\.cachix\.org-1:/],
    ["http://127.0.0.5", { key: ["nokey"] }, /name:base64/],
    ["cachix:foo", { key: [KEY] }, /foo\.cachix\.org-1, not test-1/],
    ["nixos", { key: [KEY] }, /cache\.nixos\.org-N, not test-1/],
    ["http://127.0.0.5", { priority: "high" }, /whole number/],
    ["http://127.0.0.5", { netrcLogin: "u" }, /go together/],
    ["file://relative/dir", {}, /file:\/\/\/absolute/],
  ])("%s %o is bad input (exit 2, nothing written)", (given, flags, message) => {
    const error = badInputOf(() => parseCacheRequest(given, flags));
    expect(error.exitCode).toBe(2);
    expect(error.nothingWritten).toBe(true);
    expect(error.message).toMatch(message);
  });
});

describe("nix.conf words", () => {
  const conf = (text: string) => parseNixConf(text, "/etc/nix/nix.conf");

  it("adds to the file's own line or appends one with a comment, and removes exactly that", () => {
    const before = "substituters = https://a\nextra-substituters = https://b # mine\n";
    const added = addTokens(conf(before), "extra-substituters", ["https://c"], "crossnix: x");
    expect(renderNixConf(added)).toBe("substituters = https://a\nextra-substituters = https://b https://c # mine\n");
    expect(renderNixConf(removeTokens(added, "extra-substituters", ["https://c"]))).toBe(before);

    const fresh = addTokens(conf("max-jobs = 1"), "extra-trusted-public-keys", ["k-1:x"], "crossnix: keys");
    expect(renderNixConf(fresh)).toBe("max-jobs = 1\n# crossnix: keys\nextra-trusted-public-keys = k-1:x\n");
    expect(renderNixConf(removeTokens(fresh, "extra-trusted-public-keys", ["k-1:x"]))).toBe("max-jobs = 1\n");
    expect(tokensOf(added, "extra-substituters")).toEqual(["https://b", "https://c"]);
  });
});

describe("netrc", () => {
  it("writes one line per machine, replaces it, and removes only it", () => {
    const text = "machine other login a password b\n";
    const added = setNetrcEntry(text, "cache.example.org", { login: "me", password: "s3cret" });
    expect(added).toBe(`${text}machine cache.example.org login me password s3cret\n`);
    expect(netrcCredentials(added, "cache.example.org")).toEqual({ login: "me", password: "s3cret" });
    const replaced = setNetrcEntry(added, "cache.example.org", { login: "me", password: "new" });
    expect(replaced.split("\n").filter(Boolean)).toHaveLength(2);
    expect(removeNetrcEntry(replaced, "cache.example.org", "me")).toBe(text);
  });
});

describe("substituters the daemon uses", () => {
  it("lists each with its file:line, its matching keys, and whether a user's extra one is honoured", () => {
    const system = parseNixConf(
      "substituters = https://cache.nixos.org/\nextra-trusted-substituters = http://127.0.0.5\nextra-trusted-public-keys = 127.0.0.5-1:AAAA\n",
      "/etc/nix/nix.conf",
    );
    const user = parseNixConf(
      "extra-substituters = http://127.0.0.5 http://127.0.0.6\n",
      "/home/u/.config/nix/nix.conf",
    );
    const view = substituterView([
      { source: "/etc/nix/nix.conf", kind: "system-file", conf: system },
      { source: "/home/u/.config/nix/nix.conf", kind: "user-file", conf: user },
    ]);
    expect(view.entries.map((e) => [e.url, e.role, e.source, e.honouredForUntrusted])).toEqual([
      ["https://cache.nixos.org/", "daemon", "/etc/nix/nix.conf:1", null],
      ["http://127.0.0.5", "trusted", "/etc/nix/nix.conf:2", null],
      ["http://127.0.0.5", "user", "/home/u/.config/nix/nix.conf:1", true],
      ["http://127.0.0.6", "user", "/home/u/.config/nix/nix.conf:1", false],
    ]);
    expect(view.entries[0]!.keys).toEqual(["cache.nixos.org-1"]);
  });
});

describe("planAddCache", () => {
  const inputs = (text: string, daemon: string[], trusted: string[]) => ({
    settings: { path: "/etc/nix/nix.conf", text, model: parseNixConf(text, "/etc/nix/nix.conf") },
    netrc: null,
    effectiveSubstituters: daemon,
    effectiveTrustedSubstituters: trusted,
    effectiveKeys: [KEY],
    readOnlyReason: null,
    flavor: "upstream",
    daemonReload: { argv: ["systemctl", "restart", "nix-daemon.service"], description: "restart" },
    now: new Date(0),
  });
  const cache = { url: "http://127.0.0.5", keys: [KEY], optional: false, netrc: null };

  it("a URL only in trusted-substituters is still written for every build; a trusted key is not repeated", () => {
    const { plan, record } = planAddCache(inputs("", [], ["http://127.0.0.5"]), cache);
    expect(record).toMatchObject({ urlAdded: true, keysAdded: [], setting: "extra-substituters" });
    expect(plan.files[0]!.after).toContain("extra-substituters = http://127.0.0.5\n");
    expect(plan.files[0]!.after).not.toContain("extra-trusted-public-keys");
    expect(plan.commands.map((c) => c.argv[0])).toEqual(["systemctl"]);
  });

  it("--optional is satisfied by trusted-substituters, and a nix-darwin setup gets a snippet, no files", () => {
    expect(planAddCache(inputs("", [], ["http://127.0.0.5/"]), { ...cache, optional: true }).plan.files).toEqual([]);
    const managed = planAddCache({ ...inputs("", [], []), readOnlyReason: "generated by nix-darwin" }, cache).plan;
    expect(managed.files).toEqual([]);
    expect(managed.notes[0]).toContain('nix.settings.extra-substituters = [ "http://127.0.0.5" ];');
  });
});
