// System and required features of derivations, read from their .drv files in-process (a few ms for
// a batch, where `nix show-derivation` costs a process and a daemon connection), Nix as the fallback.
import { readFile } from "node:fs/promises";
import type { DerivationInfo } from "../../core/build/nix-output.js";
import { parseDerivationFile } from "../../core/nix/derivation-file.js";
import type { Host } from "../system/host.js";
import { derivationInfo } from "./nix.js";

/**
 * Reads each .drv at the path Nix printed (the store the spawned `nix` uses, so never under
 * CROSSNIX_ROOT). Any it cannot read or parse (another store, `DrvWithVersion`, no permission)
 * are asked of `nix show-derivation` / `nix derivation show` instead.
 */
export async function readDerivations(
  host: Host,
  nixVersion: string | null,
  drvs: string[],
): Promise<Map<string, DerivationInfo>> {
  const out = new Map<string, DerivationInfo>();
  const rest: string[] = [];
  await Promise.all(
    drvs.map(async (drv) => {
      const info = drv.endsWith(".drv") ? await readFile(drv, "utf8").then(systemAndFeatures, () => null) : null;
      if (info) out.set(drv, info);
      else rest.push(drv);
    }),
  );
  if (rest.length) for (const [drv, info] of await derivationInfo(host, nixVersion, rest)) out.set(drv, info);
  return out;
}

function systemAndFeatures(text: string): DerivationInfo | null {
  const file = parseDerivationFile(text);
  return file && { system: file.system, features: file.features };
}
