// Benchmark 9, `crossnix cache check` over a closure of more than 2,000 paths against a loopback
// cache, versus `nix path-info --store <url>` for the same paths, and the floor: one HTTP client
// (curl --parallel) fetching the same narinfos. The derivations are instantiated, never built: the
// cache holds narinfos crossnix writes for their output paths, signed with a real key from
// `nix-store --generate-binary-cache-key` over Nix's fingerprint, with no NAR behind them (nothing
// is downloaded in any variant, so none is needed).
import { createPrivateKey, sign } from "node:crypto";
import * as fs from "node:fs";
import path from "node:path";
import { CacheServer, makeSigningKey, newNonce } from "#testbed";
import { CLI, type Fleet, NIX_CMD } from "./fleet.js";
import { fmtMs, measureInterleaved, ROW_HEADERS, row, type Section, summarize, table } from "./stats.js";

const MIDS = 41;
const LEAVES_PER_MID = 50;

/** top → 41 mids → 50 leaves each: 2,092 derivations, each output referring to its inputs' outputs. */
function expression(): string {
  return `{ nonce }:
let
  mk = name: deps: derivation {
    name = "cxbench-\${name}";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "echo \${nonce} > $out" ];
    inherit nonce deps;
  };
  leaf = m: l: mk "leaf-\${toString m}-\${toString l}" [ ];
  mid = m: mk "mid-\${toString m}" (builtins.genList (leaf m) ${LEAVES_PER_MID});
in mk "top" (builtins.genList mid ${MIDS})
`;
}

/** `cache check --json`'s own phases (ms). */
interface Timings {
  settingsMs: number;
  evaluateMs: number;
  cachesMs: number;
  walkMs: number;
}

interface Drv {
  outputs: Record<string, { path: string }>;
  inputDrvs: Record<string, string[]>;
}

/** A narinfo for `out` whose References are its inputs' outputs, signed like `nix store sign` does. */
function narinfo(out: string, refs: string[], key: { name: string; secret: Buffer }): string {
  const narHash = `sha256:${"0".repeat(52)}`;
  const sorted = [...refs].sort();
  const fingerprint = `1;${out};${narHash};4096;${sorted.join(",")}`;
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), key.secret.subarray(0, 32)]);
  const signature = sign(
    null,
    Buffer.from(fingerprint),
    createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }),
  );
  return [
    `StorePath: ${out}`,
    `URL: nar/${path.basename(out).slice(0, 32)}.nar`,
    "Compression: none",
    "FileSize: 4096",
    `NarHash: ${narHash}`,
    "NarSize: 4096",
    `References: ${sorted.map((r) => path.basename(r)).join(" ")}`,
    `Sig: ${key.name}:${signature.toString("base64")}`,
    "",
  ].join("\n");
}

export async function cacheBench(fleet: Fleet, runs: number, log: (l: string) => void): Promise<Section> {
  const work = path.join(fleet.sandbox.tmpDir, "cache-bench");
  const cacheDir = path.join(work, "cache");
  fs.mkdirSync(cacheDir, { recursive: true });
  const nixFile = path.join(work, "closure.nix");
  fs.writeFileSync(nixFile, expression());
  const nonce = newNonce();
  const installable = ["--", "-f", nixFile, "--argstr", "nonce", nonce];

  // The graph, as Nix evaluates it.
  const top = (
    await fleet.run(["nix", ...NIX_CMD, "path-info", "--derivation", ...installable.slice(1)])
  ).stdout.trim();
  const shown = await fleet.run(["nix", ...NIX_CMD, "show-derivation", "--recursive", top], { timeoutMs: 300_000 });
  const drvs = JSON.parse(shown.stdout) as Record<string, Drv>;
  const key = makeSigningKey(path.join(work, "keys"), "cxbench-1");
  const secret = Buffer.from(fs.readFileSync(key.secretKeyFile, "utf8").trim().split(":")[1]!, "base64");
  const outputs: string[] = [];
  for (const drv of Object.values(drvs)) {
    const out = drv.outputs["out"]!.path;
    const refs = Object.keys(drv.inputDrvs).map((d) => drvs[d]!.outputs["out"]!.path);
    fs.writeFileSync(
      path.join(cacheDir, `${path.basename(out).slice(0, 32)}.narinfo`),
      narinfo(out, refs, { name: key.name, secret }),
    );
    outputs.push(out);
  }
  fs.writeFileSync(path.join(cacheDir, "nix-cache-info"), "StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n");
  log(`cache: ${outputs.length} signed narinfos for ${Object.keys(drvs).length} derivations`);
  const server = await CacheServer.start({ dir: cacheDir, address: "127.0.0.1" });
  try {
    const topOut = drvs[top]!.outputs["out"]!.path;
    await fleet.crossnix(["cache", "add", server.url, "--key", key.publicKey, "--probe-path", topOut, "--yes"]);
    const curlConfig = path.join(work, "curl.txt");
    fs.writeFileSync(
      curlConfig,
      outputs
        .map((o) => `url = "${server.url}/${path.basename(o).slice(0, 32)}.narinfo"\noutput = "/dev/null"\n`)
        .join(""),
    );
    const phases: Timings[] = [];
    const engines = new Set<string>();
    let warm = true;
    const check = async () => {
      const r = await fleet.crossnix(["cache", "check", "--json", top], { timeoutMs: 600_000 });
      const result = JSON.parse(r.stdout) as {
        summary: { cached: number; total: number };
        timings: Timings;
        signaturesVerifiedWith: string | null;
      };
      engines.add(result.signaturesVerifiedWith ?? "nothing");
      if (!warm) phases.push(result.timings);
      warm = false;
      if (result.summary.cached !== outputs.length) {
        throw new Error(`cache check found ${result.summary.cached} of ${outputs.length} paths cached`);
      }
    };
    // No narinfo disk cache for the comparison: every run asks the cache, as a first query does.
    const pathInfo = async () => {
      const r = await fleet.run(
        [
          "nix",
          ...NIX_CMD,
          "path-info",
          "--option",
          "narinfo-cache-positive-ttl",
          "0",
          "--option",
          "narinfo-cache-negative-ttl",
          "0",
          "--store",
          server.url,
          ...outputs,
        ],
        { timeoutMs: 600_000 },
      );
      const listed = r.stdout.split("\n").filter(Boolean).length;
      if (listed !== outputs.length) throw new Error(`nix path-info listed ${listed} of ${outputs.length} paths`);
    };
    const floor = () => fleet.run(["curl", "-sf", "--parallel", "--parallel-max", "64", "-K", curlConfig]);
    // What every node command pays before it runs a line of crossnix (part of the whole-command row).
    const nodeStart = () => fleet.run([process.execPath, "-e", "0"]);
    const variants = { check, pathInfo, floor, nodeStart };
    const s = await measureInterleaved(variants, runs, log);
    // CACHE_BENCH_PROFILE=<dir>: one more, untimed run under node --cpu-prof, its profile copied to <dir>.
    const profileDir = process.env["CACHE_BENCH_PROFILE"];
    if (profileDir) {
      const r = await fleet.run(
        [
          process.execPath,
          "--cpu-prof",
          "--cpu-prof-dir",
          path.join(work, "prof"),
          CLI,
          "cache",
          "check",
          "--json",
          top,
        ],
        { timeoutMs: 600_000 },
      );
      fs.cpSync(path.join(work, "prof"), profileDir, { recursive: true });
      log(`profiled run: ${JSON.stringify((JSON.parse(r.stdout) as { timings: unknown }).timings)}`);
    }
    // The whole command against nix path-info (both given known store paths, neither evaluates);
    // the query phase alone against the floor (both fetch the same narinfos).
    const queries = summarize(phases.map((p) => p.walkMs));
    const before = summarize(phases.map((p) => p.settingsMs + p.evaluateMs + p.cachesMs));
    const speedup = s.pathInfo.median / s.check.median;
    const overFloor = queries.median / s.floor.median;
    return {
      title: "Binary cache check",
      body: [
        `A closure of ${outputs.length} paths (${MIDS} × ${LEAVES_PER_MID} leaves under ${MIDS} mids and a top derivation, never built) and a loopback cache holding a narinfo for every output: synthetic narinfos written by the benchmark, signed with a key made by \`nix-store --generate-binary-cache-key\` over Nix's fingerprint. Nothing is downloaded, so no NAR exists behind them. The expression is instantiated once before any timing; \`cache check\` is given the top \`.drv\`, \`nix path-info\` the ${outputs.length} output paths: neither side evaluates Nix.`,
        "",
        table(ROW_HEADERS, [
          row("`crossnix cache check --json <top .drv>`, whole command (process start to exit)", s.check),
          row("… of which settings, the top .drv and the caches' nix-cache-info", before),
          row("… of which the queries (validity, narinfos, signatures, the walk)", queries),
          row("… of which node's own start-up (`node -e 0`, measured alongside)", s.nodeStart),
          row(
            "`nix path-info --store <url> <paths>` (narinfo disk cache off), whole command",
            s.pathInfo,
            s.check,
            "of cache check",
          ),
          row(
            "floor: `curl --parallel --parallel-max 64` fetching the same narinfos",
            s.floor,
            queries,
            "of the queries",
          ),
        ]),
        "",
        `What each side does. \`cache check\`: node start-up, reads the daemon's settings and the top \`.drv\` (in-process; the other 2,091 \`.drv\` files are read only when some path must be built, and none must here), asks each cache for \`nix-cache-info\`, then walks the closure as Nix's queryMissing does: the top output's narinfo, its References' narinfos, theirs (three rounds), each GET pipelined over 8 keep-alive connections, every signature verified with ed25519 against the daemon's trusted keys (on cache check's own thread, with ${[...engines].join(", ")}), and writes a JSON verdict per path. \`nix path-info --store\`: one narinfo per given path, no signature check. The floor: curl fetching the same narinfos to /dev/null, nothing parsed or verified. The phases come from \`cache check --json\`'s own \`timings\` (the same runs as the whole-command row); the dry run runs only when some cache holds a path no trusted key verifies, which none does here.`,
      ],
      targets: [
        {
          text: `cache check ≥ 5× faster than nix path-info --store for the same ${outputs.length} paths (whole commands)`,
          pass: speedup >= 5,
          detail: `${speedup.toFixed(1)}× (${fmtMs(s.check.median)} vs ${fmtMs(s.pathInfo.median)}); the query phase alone is ${(s.pathInfo.median / queries.median).toFixed(1)}× (${fmtMs(queries.median)}); 5× leaves ${fmtMs(s.pathInfo.median / 5)} for the whole command, ${fmtMs(s.nodeStart.median)} of which node's start-up takes before crossnix runs`,
        },
        {
          text: "cache check's queries within 2× of one concurrent HTTP client fetching the same narinfos",
          pass: overFloor <= 2,
          detail: `${overFloor.toFixed(1)}× the floor (${fmtMs(queries.median)} vs ${fmtMs(s.floor.median)})`,
        },
      ],
    };
  } finally {
    await fleet.crossnix(["cache", "remove", server.url, "--yes"], { ok: [0, 2] });
    await server.stop();
  }
}
