// Reading .drv files in-process: the same system and features as Nix's own show-derivation.
import * as fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseShowDerivation } from "../../src/core/build/nix-output.js";
import { parseDerivationFile } from "../../src/core/nix/derivation-file.js";

// Made by Nix 2.8 (`nix-instantiate --store <tmp>` of a plain and a __structuredAttrs derivation),
// with `nix show-derivation` of both beside them.
const DIR = path.join(import.meta.dirname, "../fixtures/derivations");
const drvFiles = fs.readdirSync(DIR).filter((f) => f.endsWith(".drv"));

/** What the pre-build check takes from a .drv: its system and required features. */
function parseDerivationAterm(text: string) {
  const file = parseDerivationFile(text);
  return file && { system: file.system, features: file.features };
}

describe("parseDerivationFile: system and features", () => {
  it("agrees with nix show-derivation on real .drv files (escapes, features, structured attrs)", () => {
    const shown = parseShowDerivation(fs.readFileSync(path.join(DIR, "show-derivation-2.8.json"), "utf8"));
    expect(drvFiles).toHaveLength(2);
    for (const file of drvFiles) {
      const ours = parseDerivationAterm(fs.readFileSync(path.join(DIR, file), "utf8"));
      expect(ours).toEqual(shown.get(`/nix/store/${file}`));
    }
    expect(shown.get(`/nix/store/${drvFiles.find((f) => f.includes("plain"))}`)).toEqual({
      system: "aarch64-linux",
      features: ["kvm", "big-parallel"],
    });
    expect(shown.get(`/nix/store/${drvFiles.find((f) => f.includes("structured"))}`)).toEqual({
      system: "x86_64-linux",
      features: ["benchmark"],
    });
  });

  it("unescapes strings as Nix does: \\n \\r \\t, any other escaped character stands for itself", () => {
    const drv = `Derive([],[],[],"x\\"y\\\\z","b",[],[("requiredSystemFeatures","a\\tb\\nc\\rd \\e")])`;
    expect(parseDerivationAterm(drv)).toEqual({ system: 'x"y\\z', features: ["a", "b", "c", "d", "e"] });
  });

  it("gives up (null, so Nix is asked) on other shapes and on damaged text", () => {
    expect(parseDerivationAterm(`DrvWithVersion("xp-dyn-drv",[],[],[],"x","b",[],[])`)).toBeNull();
    expect(parseDerivationAterm(`Derive([],[],[],"x","b",[],[("a","unterminated)])`)).toBeNull();
    expect(parseDerivationAterm(`Derive([],[],[],"x","b",[],[("a","b"))`)).toBeNull();
    expect(parseDerivationAterm(`Derive([],[],[],["x"],"b",[],[])`)).toBeNull();
    expect(parseDerivationAterm(`Derive([],[],[],"x","b",[],[("__json","{not json")])`)).toBeNull();
    expect(parseDerivationAterm("")).toBeNull();
  });
});
