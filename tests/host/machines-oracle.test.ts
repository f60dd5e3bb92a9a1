// The real Nix on this machine (Debian's nix-bin, Nix 2.8) as an oracle for crossnix's reading of
// machines files under that version's rules (docs/nix-machines-file.md#oracle). For each text,
// Nix builds a derivation for a system no machine offers, with `--builders @<file> --max-jobs 0`,
// in a chroot store under a temp dir (no daemon, no network, nothing outside the temp dir): its
// build hook then either rejects the file or lists every machine it parsed, and at --debug
// names each machine's store URI. crossnix must agree line for line.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type MachinesRead,
  machinesDialect,
  normalizeStoreUri,
  readMachinesTree,
} from "../../src/core/formats/machines/index.js";
import { listEntries } from "../../src/core/formats/machines/index.js";
import { parseNixVersion } from "../../src/core/nix/version.js";

const run = promisify(execFile);

async function nixVersion(): Promise<string | null> {
  try {
    const { stdout } = await run("nix-build", ["--version"], { timeout: 20_000 });
    return parseNixVersion(stdout)?.nix ?? null;
  } catch {
    return null;
  }
}

const version = await nixVersion();
const SYSTEM = "x86_64-linux";

// Texts in which "@DIR" stands for the test's temp directory. Each covers a rule that differs
// between versions or that Nix's own tests pin down.
const TEXTS: Record<string, string> = {
  full: "nix@scratchy i686-linux /k 8 3 kvm,benchmark big-parallel\n",
  defaults: "nix@scratchy - - - - - - -\n",
  "fractional speed": "h x86_64-linux - 2 2.5\n",
  "speed 0": "h x86_64-linux - 2 0\n",
  "negative speed": "h - - 8 -3\n",
  "max jobs word": "nix@scratchy - - eight\n",
  "max jobs -1": "nix@scratchy - - -1\n",
  "max jobs plus": "h - - +2 +3\n",
  "bad base64": "nix@scratchy - - 8 3 - - BAD_BASE64\n",
  "good base64": "nix@scratchy - - 8 3 - - c3NoLWVkMjU1MTkgQUFBQQ==\n",
  "indented comment": "  # spare builder\nh x86_64-linux\n",
  "semicolons with spaces": "h ; ; \n",
  "empty pieces": "a;;b\n",
  "crlf blank line": "a\r\n\r\nb\r\n",
  "semicolon after hash": "a x86_64-linux # old box ; b aarch64-linux\n",
  "nix test comments and semicolons":
    "# This is a comment ; this is still that comment\nnix@scratchy ; nix@itchy\n# This is also a comment ; this also is still that comment\nnix@scabby\n",
  "nix test funny whitespace":
    "        # comment ; comment\n   nix@scratchy ; nix@itchy   \n\n    \n\n ;;; \n\n ; ; \nnix@scabby\n\n",
  "dash uri": "- x86_64-linux\n",
  "uri forms": "localhost\nremote-box\nauto\ndaemon\nssh-ng://u@h?remote-program=/x\nnix@host:2222\n",
  tabs: "nix@scratchy\ti686-linux\t/k\t8\t3\tkvm\tbenchmark\n",
  includes: "@@DIR/inc-a\nmain x86_64-linux\n @@DIR/inc-b\n@@DIR/missing ; z aarch64-linux\n",
  "nested includes": "@@DIR/inc-nest\n",
  "bad line in include": "ok x86_64-linux\n@@DIR/inc-bad\n",
};
const INCLUDED: Record<string, string> = {
  "inc-a": "a1 aarch64-linux - 4 ; a2 riscv64-linux\n",
  "inc-b": "b1 x86_64-linux\n",
  "inc-nest": "n1 x86_64-linux\n@@DIR/inc-a\n",
  "inc-bad": "bad - - x\n",
};

let dir = "";
let drv = "";
const env = () => ({
  ...process.env,
  NIX_CONF_DIR: path.join(dir, "conf"),
  HOME: path.join(dir, "home"),
  NIX_REMOTE: "",
});

/** What Nix 2.8's build hook says about a machines text: the machines it parsed, or its error. */
async function askNix(text: string): Promise<{ error: string } | { rows: string[]; uris: string[] }> {
  const file = path.join(dir, "machines");
  await writeFile(file, text.replaceAll("@DIR", dir));
  const args = [
    "--store",
    path.join(dir, "store"),
    "--realise",
    drv,
    "--builders",
    `@${file}`,
    "--max-jobs",
    "0",
    "--option",
    "substituters",
    "",
    "--debug",
  ];
  const result = await run("nix-store", args, { env: env(), timeout: 60_000 }).then(
    (r) => r.stderr,
    (e: { stderr?: string }) => e.stderr ?? "",
  );
  const lines = result.split("\n");
  const error = lines.find((l) => /^error: (bad machine specification|stoull|invalid character)/.test(l));
  if (error) return { error };
  const header = lines.findIndex((l) => l.startsWith("(systems, maxjobs, supportedFeatures, mandatoryFeatures)"));
  if (header === -1) throw new Error(`unexpected Nix output:\n${result}`);
  const count = Number(/^(\d+) available machines:/.exec(lines[header - 1] ?? "")?.[1]);
  const rows = lines.slice(header + 1, header + 1 + count);
  const uris = lines.flatMap((l) => /^considering building on remote machine '(.*)'$/.exec(l)?.[1] ?? []);
  return { rows, uris };
}

/** What crossnix says, under the rules of the installed version. */
async function askCrossnix(text: string): Promise<{ error: string } | { rows: string[]; uris: string[] }> {
  const dialect = machinesDialect(version);
  const files: Record<string, string> = { [path.join(dir, "machines")]: text.replaceAll("@DIR", dir) };
  for (const [name, body] of Object.entries(INCLUDED)) files[path.join(dir, name)] = body.replaceAll("@DIR", dir);
  const read = async (p: string): Promise<MachinesRead> =>
    files[p] === undefined ? { kind: "missing" } : { kind: "text", text: files[p]! };
  const tree = await readMachinesTree([path.join(dir, "machines")], read, dialect);
  // Nix reads includes where they stand; crossnix lists each file's entries: walk in Nix's order.
  const byPath = new Map(tree.files.map((f) => [f.path, f]));
  const rows: string[] = [];
  const uris: string[] = [];
  const walk = (p: string): string | null => {
    const parsed = byPath.get(p)?.parsed;
    if (!parsed) return null;
    if (parsed.errors.length) return parsed.errors[0]!.message;
    for (const line of parsed.model.lines) {
      for (const item of line.items) {
        if (item.kind === "include") {
          const failed = walk(item.path);
          if (failed) return failed;
          continue;
        }
        const e = item.entry;
        const sorted = (xs: string[]) => [...new Set(xs)].sort().join(", ");
        rows.push(
          `(${(e.systems.length ? e.systems : [SYSTEM]).join(", ")}, ${e.maxJobs ?? 1}, ${sorted(e.supportedFeatures)}, ${sorted(e.mandatoryFeatures)})`,
        );
        uris.push(normalizeStoreUri(e.uri, dialect));
      }
    }
    expect(listEntries(parsed.model).length).toBeGreaterThanOrEqual(0);
    return null;
  };
  const error = walk(path.join(dir, "machines"));
  return error ? { error } : { rows, uris };
}

/** Nix's wording → the kind of failure, so messages can be compared across the two. */
function kind(message: string): string {
  if (/store URL was not found|bad machine specification '/.test(message)) return "no-uri";
  if (/'unsigned int'/.test(message)) return "unsigned-int";
  if (/'float'/.test(message)) return "float";
  if (/Base64/.test(message)) return "base64";
  if (/stoull/.test(message)) return "stoull";
  return message;
}

describe.skipIf(version === null)(
  `Nix ${version ?? "(not installed: nix-build --version failed)"} as an oracle`,
  () => {
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), "crossnix-oracle-"));
      await mkdir(path.join(dir, "conf"));
      await mkdir(path.join(dir, "home"));
      await writeFile(path.join(dir, "conf", "nix.conf"), `system = ${SYSTEM}\nextra-platforms =\n`);
      for (const [name, body] of Object.entries(INCLUDED))
        await writeFile(path.join(dir, name), body.replaceAll("@DIR", dir));
      const expr = 'derivation { name = "crossnix-oracle"; system = "crossnix-oracle-none"; builder = "/bin/sh"; }';
      const { stdout } = await run("nix-instantiate", ["--store", path.join(dir, "store"), "-E", expr], {
        env: env(),
        timeout: 60_000,
      });
      drv = stdout.trim().split("\n").at(-1)!;
    }, 90_000);
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    for (const [name, text] of Object.entries(TEXTS)) {
      it(`${name}: ${JSON.stringify(text).slice(0, 60)}`, async () => {
        const [nix, ours] = await Promise.all([askNix(text), askCrossnix(text)]);
        if ("error" in nix || "error" in ours) {
          expect("error" in ours ? kind(ours.error) : ours, `Nix said: ${JSON.stringify(nix)}`).toBe(
            "error" in nix ? kind(nix.error) : nix,
          );
          return;
        }
        expect(ours.rows).toEqual(nix.rows);
        expect(ours.uris).toEqual(nix.uris);
      }, 90_000);
    }
  },
);
