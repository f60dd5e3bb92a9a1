// Reads a .drv file's ATerm text (`Derive(…)`) for what the pre-build check needs: the system and
// the required features, without spawning Nix (docs/derivation-files.md#format).
import type { DerivationInfo } from "./nix-output.js";

type Term = string | Term[];

/**
 * Parses `Derive([outputs],[inputDrvs],[inputSrcs],"system","builder",[args],[env])`: strings with
 * Nix's escapes (\n \r \t, any other escaped character stands for itself), lists and tuples (both
 * read as arrays). Returns null for anything else, e.g. the experimental `DrvWithVersion(…)`.
 */
export function parseDerivationAterm(text: string): DerivationInfo | null {
  if (!text.startsWith("Derive(")) return null;
  let at = "Derive".length;
  const fail = (): never => {
    throw new SyntaxError(`unexpected ${JSON.stringify(text[at] ?? "end")} at ${at}`);
  };
  const readString = (): string => {
    let out = "";
    let from = ++at;
    for (;;) {
      const c = text.charCodeAt(at);
      if (Number.isNaN(c)) fail();
      if (c === 0x22 /* " */) {
        out += text.slice(from, at++);
        return out;
      }
      if (c === 0x5c /* \ */) {
        out += text.slice(from, at);
        const e = text[at + 1] ?? fail();
        out += e === "n" ? "\n" : e === "r" ? "\r" : e === "t" ? "\t" : e;
        at += 2;
        from = at;
      } else at++;
    }
  };
  const readTerm = (): Term => {
    const open = text[at];
    if (open === '"') return readString();
    if (open !== "[" && open !== "(") return fail();
    const close = open === "[" ? "]" : ")";
    const items: Term[] = [];
    at++;
    if (text[at] === close) {
      at++;
      return items;
    }
    for (;;) {
      items.push(readTerm());
      if (text[at] === ",") at++;
      else if (text[at] === close) {
        at++;
        return items;
      } else fail();
    }
  };
  let fields: Term;
  try {
    fields = readTerm();
  } catch {
    return null;
  }
  const [, , , system, , , env] = fields as Term[];
  if (typeof system !== "string" || !Array.isArray(env)) return null;
  const vars = new Map<string, string>();
  for (const pair of env) {
    if (Array.isArray(pair) && typeof pair[0] === "string" && typeof pair[1] === "string") vars.set(pair[0], pair[1]);
  }
  const features = requiredFeatures(vars);
  return features ? { system, features } : null;
}

/** `requiredSystemFeatures`: a list in structured attrs (`__json`), else a space-separated env variable. */
function requiredFeatures(env: Map<string, string>): string[] | null {
  const json = env.get("__json");
  if (json !== undefined) {
    try {
      const attrs = JSON.parse(json) as Record<string, unknown>;
      const list = attrs["requiredSystemFeatures"];
      return Array.isArray(list) ? list.map(String) : [];
    } catch {
      return null;
    }
  }
  return (env.get("requiredSystemFeatures") ?? "").split(/\s+/).filter(Boolean);
}
