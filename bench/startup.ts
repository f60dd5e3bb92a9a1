// Benchmark 4, start-up: `crossnix --version` and `crossnix builder list` (no network; a machines
// file with four entries under CROSSNIX_ROOT) against `node -e 0`, and what the difference is made of.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { CLI, REPO } from "./fleet.js";
import { fmtMs, measureInterleaved, row, ROW_HEADERS, type Section, summarize, table } from "./stats.js";

const KEY_B64 = Buffer.from(
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID2IrQrrspaNdaDlZo/6UMrrLTznp9pfUiCeTqtRpVPl",
).toString("base64");

function fixtureRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "crossnix-bench-root-"));
  fs.mkdirSync(path.join(root, "etc/nix"), { recursive: true });
  fs.mkdirSync(path.join(root, "etc/ssh/ssh_config.d"), { recursive: true });
  fs.writeFileSync(
    path.join(root, "etc/nix/nix.conf"),
    "builders = @/etc/nix/machines\nbuilders-use-substitutes = true\n",
  );
  const names = ["n1", "n2", "n3", "n4"];
  fs.writeFileSync(
    path.join(root, "etc/nix/machines"),
    names
      .map(
        (n) =>
          `ssh-ng://${n} x86_64-linux,aarch64-linux /etc/nix/crossnix/${n}_ed25519 2 - benchmark,big-parallel,nixos-test - ${KEY_B64} # crossnix:${n}\n`,
      )
      .join(""),
  );
  fs.writeFileSync(
    path.join(root, "etc/ssh/ssh_config.d/crossnix.conf"),
    names
      .map(
        (n, i) =>
          `Host ${n}\n  # managed by crossnix\n  HostName 127.0.0.${i + 2}\n  Port ${2201 + i}\n  User cxb${i + 1}\n  HostKeyAlias ${n}\n  ConnectTimeout 10\n`,
      )
      .join("\n"),
  );
  return root;
}

/**
 * The environment every timed node starts with: this one without NODE_EXTRA_CA_CERTS (which makes
 * node read a CA bundle at start-up: 72 ms instead of 26 ms for `node -e 0` on the machine this
 * was written on) or NODE_OPTIONS, so that both sides are measured as a plain shell would start them.
 */
const { NODE_EXTRA_CA_CERTS: _caCerts, NODE_OPTIONS: _options, ...PLAIN_ENV } = process.env;

function node(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, args, {
    cwd: REPO,
    env: { ...PLAIN_ENV, NO_COLOR: "1", ...env },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Static `import … from` / `export … from` edges of the built ESM (dynamic import() is not the start path). */
function staticClosure(entry: string): { files: string[]; packages: Set<string>; bytes: number } {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(
      /^\s*(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm,
    )) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith(".")) visit(path.resolve(path.dirname(file), spec));
      else if (!spec.startsWith("node:")) packages.add(spec.split("/")[0]!);
    }
  };
  visit(entry);
  const files = [...seen];
  return { files, packages, bytes: files.reduce((s, f) => s + fs.statSync(f).size, 0) };
}

/** `entry`'s own static imports in order: packages by name, crossnix modules as `dist/…` (no node: built-ins). */
function directImports(entry: string): string[] {
  const text = fs.readFileSync(entry, "utf8");
  const specs = [...text.matchAll(/^\s*import\s[^;]*?from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm)].map(
    (m) => (m[1] ?? m[2])!,
  );
  return specs
    .filter((spec) => !spec.startsWith("node:"))
    .map((spec) => (spec.startsWith(".") ? path.relative(REPO, path.resolve(path.dirname(entry), spec)) : spec));
}

/**
 * ms each import() takes in a fresh node when the modules are imported one after another in this
 * order (so each figure is what that module adds given the ones before it), median of n processes.
 */
function importSteps(specs: string[], n: number): number[] {
  const code = `const out = []; for (const s of ${JSON.stringify(specs)}) { const t = performance.now(); await import(s); out.push(performance.now() - t); } process.stdout.write(JSON.stringify(out));`;
  const runs = Array.from({ length: n }, () => JSON.parse(node(["--input-type=module", "-e", code])) as number[]);
  return specs.map((_, i) => summarize(runs.map((r) => r[i]!)).median);
}

/** Self time by where the code lives, from `node --cpu-prof` of the command (n runs, per-run average). */
function cpuProfile(args: string[], env: NodeJS.ProcessEnv, n: number): { rows: string[][]; sampledMs: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crossnix-bench-prof-"));
  try {
    for (let i = 0; i < n; i++) node(["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "100", ...args], env);
    const buckets = new Map<string, number>();
    const bucket = (url: string, fn: string): string => {
      if (!url) return fn.startsWith("(") ? fn : "(native / V8)";
      if (url.startsWith("node:")) return "node internals (module loader, fs, …)";
      const nm = url.lastIndexOf("node_modules/");
      if (nm >= 0) return `package ${url.slice(nm + 13).split("/")[0]}`;
      if (url.includes("/dist/"))
        return `crossnix ${
          url
            .slice(url.indexOf("/dist/") + 6)
            .split("/")
            .slice(0, -1)
            .join("/") || "cli.js"
        }`;
      return url;
    };
    for (const f of fs.readdirSync(dir)) {
      const prof = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as {
        nodes: { id: number; callFrame: { url: string; functionName: string } }[];
        samples: number[];
        timeDeltas: number[];
      };
      const byId = new Map(prof.nodes.map((nd) => [nd.id, bucket(nd.callFrame.url, nd.callFrame.functionName)]));
      prof.samples.forEach((id, i) => {
        const b = byId.get(id)!;
        buckets.set(b, (buckets.get(b) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000 / n);
      });
    }
    const sampledMs = [...buckets.values()].reduce((a, b) => a + b, 0);
    const rows = [...buckets.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, v]) => [k, fmtMs(v), `${((100 * v) / sampledMs).toFixed(0)}%`]);
    return { rows, sampledMs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function startupBench(runs: number, log: (l: string) => void): Promise<Section> {
  const root = fixtureRoot();
  const env = { CROSSNIX_ROOT: root };
  try {
    const list = node([CLI, "builder", "list"], env);
    if ((list.match(/^n\d /gm) ?? []).length !== 4)
      throw new Error(`builder list did not show the 4 fixture builders:\n${list}`);
    log(`start-up: ${runs} runs each`);
    const s = await measureInterleaved(
      {
        bare: async () => node(["-e", "0"]),
        version: async () => node([CLI, "--version"]),
        list: async () => node([CLI, "builder", "list"], env),
      },
      runs,
      log,
    );

    const importRuns = 5;
    const cli = staticClosure(CLI);
    const listClosure = staticClosure(path.join(REPO, "dist/commands/builder/list.js"));
    const listOnly = listClosure.files.filter((f) => !cli.files.includes(f));
    // cli.js's own imports in its order, then the list handler; the rest of the packages alone.
    const file = (f: string) => pathToFileURL(path.join(REPO, f)).href;
    // Read from dist/cli.js itself, so the list follows the code as modules move.
    const startPath = [...directImports(CLI), "dist/commands/builder/list.js"];
    const stepMs = importSteps(
      ["data:text/javascript,", ...startPath.map((m) => (m.startsWith("dist/") ? file(m) : m))],
      importRuns,
    );
    const others = ["yaml", "diff"].filter((p) => !cli.packages.has(p) && !listClosure.packages.has(p));
    const otherMs = others.map((p) => importSteps(["data:text/javascript,", p], importRuns)[1]!);
    const imports = [
      { label: "an empty module (the cost of import() itself)", where: "—", ms: stepMs[0]! },
      ...startPath.map((m, i) => ({
        label: m.startsWith("dist/") ? m : `package ${m}`,
        where: m.endsWith("list.js") ? "builder list" : "every command",
        ms: stepMs[i + 1]!,
      })),
      ...others.map((p, i) => ({ label: `package ${p}`, where: "not on the start path", ms: otherMs[i]! })),
    ];
    const importRows = imports.map((i) => [i.label, i.where, fmtMs(i.ms)]);
    const prof = cpuProfile([CLI, "builder", "list"], env, importRuns);

    const ratio = (k: "version" | "list") => s[k].median / s.bare.median;
    const extra = s.list.median - s.bare.median;
    const heaviest = imports
      .filter((i) => i.where !== "not on the start path" && i.where !== "—")
      .sort((a, b) => b.ms - a.ms)[0]!;
    const missDetail = `crossnix adds ${fmtMs(extra)} to node's own start; the heaviest import on the path is ${heaviest.label} (${fmtMs(heaviest.ms)})`;
    return {
      title: "Start-up",
      body: [
        `\`node dist/cli.js …\` spawned directly (no sandbox), \`builder list\` reading a fixture root (CROSSNIX_ROOT) with a nix.conf, a four-entry machines file and an ssh alias file; no subprocess, no network.`,
        "",
        table(ROW_HEADERS, [
          row("`node -e 0`", s.bare),
          row("`crossnix --version`", s.version, s.bare, "of node -e 0"),
          row("`crossnix builder list`", s.list, s.bare, "of node -e 0"),
        ]),
        "",
        `Start path: \`dist/cli.js\` statically imports ${cli.files.length} crossnix modules (${(cli.bytes / 1024).toFixed(0)} KiB) and the packages ${[...cli.packages].join(", ") || "none"}; ` +
          `\`builder list\` then loads ${listOnly.length} more modules and ${[...listClosure.packages].filter((p) => !cli.packages.has(p)).join(", ") || "no further packages"}. ` +
          `Verbs are registered without importing their handlers.`,
        "",
        `What each \`import()\` adds in a fresh node, importing the start path in \`dist/cli.js\`'s order (each figure includes the module's own imports not loaded before it), median of ${importRuns} processes; packages not on the start path imported alone:`,
        "",
        table(["module", "loaded by", "import"], importRows),
        "",
        `\`node --cpu-prof\` of \`crossnix builder list\`, self time by where the code lives (average of ${importRuns} runs, ${fmtMs(prof.sampledMs)} sampled per run):`,
        "",
        table(["where", "self time", "share"], prof.rows),
      ],
      targets: (["version", "list"] as const).map((k) => ({
        text: `\`crossnix ${k === "version" ? "--version" : "builder list"}\` median ≤ 3× \`node -e 0\``,
        pass: ratio(k) <= 3,
        detail: `${fmtMs(s[k].median)} vs ${fmtMs(s.bare.median)} = ${ratio(k).toFixed(2)}×${ratio(k) <= 3 ? "" : `; ${missDetail}`}`,
      })),
    };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
