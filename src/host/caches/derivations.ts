// Reads a closure of .drv files straight from the store, in-process: what `nix show-derivation -r`
// prints, without a second evaluation or a Nix process.
import { readFileSync } from "node:fs";
import { type DerivationNode, derivationNodes } from "../../core/caches/closure.js";
import { type DerivationFile, parseDerivationFile } from "../../core/nix/derivation-file.js";

/** The .drv files themselves (not their inputs); null when one cannot be read or parsed. */
export function readDerivationFiles(drvs: readonly string[]): Map<string, DerivationFile> | null {
  const files = new Map<string, DerivationFile>();
  for (const drv of drvs) {
    const file = readDerivation(drv);
    if (!file) return null;
    files.set(drv, file);
  }
  return files;
}

function readDerivation(drv: string): DerivationFile | null {
  try {
    return parseDerivationFile(readFileSync(drv, "utf8"));
  } catch {
    return null;
  }
}

/** Every derivation `tops` need, transitively; null when one cannot be read or parsed (ask Nix then). */
export function readDerivationClosure(tops: readonly string[]): Map<string, DerivationNode> | null {
  const files = new Map<string, DerivationFile>();
  let frontier = [...new Set(tops)];
  while (frontier.length > 0) {
    // Thousands of small files: synchronous reads cost a fraction of promise-based ones.
    const read = frontier.map(readDerivation);
    const next = new Set<string>();
    for (const [index, file] of read.entries()) {
      if (!file) return null;
      files.set(frontier[index] as string, file);
      for (const input of file.inputDrvs.keys()) if (!files.has(input)) next.add(input);
    }
    frontier = [...next].filter((d) => !files.has(d));
  }
  return derivationNodes(files);
}
