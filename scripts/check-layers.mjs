// Lint rule for crossnix's layers (DESIGN.md "Rules that keep it livable"), run by `npm run lint`:
// - core/ is pure: it imports no host/, ui/, app/, commands/, context or cli, and no I/O module;
// - app/ never imports commands/ or cli; host/ never imports ui/, app/ or commands/;
//   ui/ never imports host/, app/ or commands/;
// - no command module imports another command's module (only its own folder's register/lazy);
// - only src/cli.ts writes to stdout.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const SRC = process.argv[2] ? `${process.argv[2].replace(/\/$/, "")}/` : new URL("../src/", import.meta.url).pathname;
const IO_MODULES = ["node:fs", "node:fs/promises", "node:child_process", "node:net", "node:os"];
const rules = [
  { layer: "core", forbidden: ["host", "ui", "app", "commands", "context.ts", "cli.ts"], io: true },
  { layer: "app", forbidden: ["commands", "cli.ts"] },
  { layer: "host", forbidden: ["ui", "app", "commands", "cli.ts"] },
  { layer: "ui", forbidden: ["host", "app", "commands", "cli.ts"] },
];

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else if (/\.tsx?$/.test(entry.name)) yield full;
  }
}

/** Registration files load every command; commands share only the lazy type, option coercion and renderers. */
function mayImportWithinCommands(importer, target) {
  if (path.basename(importer) === "register.ts") return true;
  return target === "commands/lazy.ts" || target === "commands/options.ts" || /(^|\/)render[^/]*\.ts$/.test(target);
}

const problems = [];
for (const file of files(SRC)) {
  const rel = path.relative(SRC, file);
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const where = `src/${rel}:${i + 1}`;
    if (rel !== "cli.ts" && /process\.stdout\.write|console\.(log|info|table)\(/.test(line)) {
      problems.push(`${where}: only src/cli.ts writes to stdout (return the output instead)`);
    }
  });
  const specifiers = [...text.matchAll(/(?:from\s+|import\(\s*)"([^"]+)"/g)].map((m) => ({
    spec: m[1],
    line: text.slice(0, m.index).split("\n").length,
  }));
  for (const { spec, line } of specifiers) {
    const where = `src/${rel}:${line}`;
    const layer = rel.split(path.sep)[0];
    const rule = rules.find((r) => r.layer === layer);
    if (rule?.io && IO_MODULES.includes(spec)) problems.push(`${where}: core/ does no I/O, but imports ${spec}`);
    if (!spec.startsWith(".")) continue;
    const target = path.relative(SRC, path.resolve(path.dirname(file), spec)).replace(/\.js$/, ".ts");
    const targetLayer = target.split(path.sep)[0];
    if (rule?.forbidden.includes(targetLayer)) problems.push(`${where}: ${layer}/ must not import ${target}`);
    if (layer === "commands" && targetLayer === "commands" && !mayImportWithinCommands(rel, target)) {
      problems.push(`${where}: a command must not import another command's ${target} (move shared logic to app/)`);
    }
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  console.error(`\n${problems.length} layer violation(s); see scripts/check-layers.mjs`);
  process.exit(1);
}
