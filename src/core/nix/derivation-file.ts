// A `.drv` file as Nix writes it (the ATerm `Derive(…)` form): outputs, input derivations with the
// outputs wanted, sources, system and required features, read without a Nix process
// (docs/derivation-files.md). `crossnix build` and `cache check` both read derivations through it.

/** What a .drv says, before its input derivations' outputs are known. */
export interface DerivationFile {
  /** Output name → path (empty for a floating content-addressed output, whose path is not known yet). */
  outputs: Map<string, string>;
  /** Input derivation → names of the outputs wanted from it. */
  inputDrvs: Map<string, string[]>;
  inputSrcs: string[];
  system: string;
  features: string[];
}

type Term = string | Term[];

/** null when the text is not a `Derive(…)` this reader knows (e.g. a newer `DrvWithVersion`). */
export function parseDerivationFile(text: string): DerivationFile | null {
  if (!text.startsWith("Derive(")) return null;
  const reader = new Reader(text, "Derive".length);
  let fields: Term[];
  try {
    fields = reader.tuple();
    if (reader.at !== text.length) return null;
  } catch {
    return null;
  }
  const [outputs, inputDrvs, inputSrcs, system, , , env] = fields;
  if (!isList(outputs) || !isList(inputDrvs) || !isList(inputSrcs) || typeof system !== "string" || !isList(env)) {
    return null;
  }
  const envMap = new Map<string, string>();
  for (const pair of env) if (isList(pair)) envMap.set(String(pair[0]), String(pair[1]));
  const features = requiredFeatures(envMap);
  if (features === null) return null;
  const drvs = new Map<string, string[]>();
  for (const entry of inputDrvs) {
    if (isList(entry) && typeof entry[0] === "string" && isList(entry[1])) drvs.set(entry[0], entry[1].map(String));
  }
  return {
    outputs: new Map(
      outputs.flatMap((o) =>
        isList(o) && typeof o[0] === "string" && typeof o[1] === "string" && o[1] !== "" ? [[o[0], o[1]]] : [],
      ),
    ),
    inputDrvs: drvs,
    inputSrcs: inputSrcs.map(String),
    system,
    features,
  };
}

/**
 * `requiredSystemFeatures`: with `__structuredAttrs` a JSON list inside `__json`, otherwise a
 * space-separated variable (docs/derivation-files.md#features). null when `__json` is not JSON.
 */
export function requiredFeatures(env: Map<string, string>): string[] | null {
  const json = env.get("__json");
  if (json === undefined) return (env.get("requiredSystemFeatures") ?? "").split(/\s+/).filter(Boolean);
  try {
    const list = (JSON.parse(json) as Record<string, unknown>)["requiredSystemFeatures"];
    return Array.isArray(list) ? list.map(String) : [];
  } catch {
    return null;
  }
}

function isList(term: Term | undefined): term is Term[] {
  return Array.isArray(term);
}

/** ATerm as Nix writes derivations: strings with \" \\ \n \r \t escapes, [lists] and (tuples). */
class Reader {
  constructor(
    private readonly text: string,
    public at: number,
  ) {}

  tuple(): Term[] {
    return this.sequence("(", ")");
  }

  private sequence(open: string, close: string): Term[] {
    this.expect(open);
    const items: Term[] = [];
    if (this.text[this.at] === close) {
      this.at++;
      return items;
    }
    for (;;) {
      items.push(this.term());
      const c = this.text[this.at++];
      if (c === close) return items;
      if (c !== ",") throw new Error(`unexpected ${c} at ${this.at - 1}`);
    }
  }

  private term(): Term {
    const c = this.text[this.at];
    if (c === '"') return this.string();
    if (c === "[") return this.sequence("[", "]");
    if (c === "(") return this.sequence("(", ")");
    throw new Error(`unexpected ${c} at ${this.at}`);
  }

  private string(): string {
    this.at++;
    let out = "";
    let start = this.at;
    for (;;) {
      const backslash = this.text.indexOf("\\", this.at);
      const quote = this.text.indexOf('"', this.at);
      if (quote < 0) throw new Error("unterminated string");
      if (backslash < 0 || quote < backslash) {
        out += this.text.slice(start, quote);
        this.at = quote + 1;
        return out;
      }
      out += this.text.slice(start, backslash);
      const escaped = this.text[backslash + 1];
      out += escaped === "n" ? "\n" : escaped === "r" ? "\r" : escaped === "t" ? "\t" : (escaped ?? "");
      this.at = backslash + 2;
      start = this.at;
    }
  }

  private expect(c: string): void {
    if (this.text[this.at] !== c) throw new Error(`expected ${c} at ${this.at}`);
    this.at++;
  }
}
