// `ci flake-snippet` output.
import { describe, expect, it } from "vitest";
import { DEFAULT_SNIPPET_SYSTEMS, flakeSnippet } from "../../src/core/ci/snippet.js";

describe("ci flake-snippet", () => {
  it("without flake-parts: nixpkgs.lib.genAttrs over the systems, pkgs per system", () => {
    const text = flakeSnippet({ flakeParts: false, systems: ["x86_64-linux", "aarch64-linux"] });
    expect(text).toContain('systems = [ "x86_64-linux" "aarch64-linux" ];');
    expect(text).toContain(
      `forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.\${system});`,
    );
    expect(text).toContain("packages = forAllSystems (pkgs: {");
    expect(text).not.toContain("mkFlake");
  });

  it("with flake-parts: systems and perSystem, no genAttrs", () => {
    const text = flakeSnippet({ flakeParts: true, systems: DEFAULT_SNIPPET_SYSTEMS });
    expect(text).toContain("flake-parts.lib.mkFlake { inherit inputs; } {");
    expect(text).toContain('systems = [ "x86_64-linux" "aarch64-linux" "aarch64-darwin" "x86_64-darwin" ];');
    expect(text).toContain("perSystem = { pkgs, ... }: {");
    expect(text).toContain("packages.default = pkgs.callPackage ./package.nix { };");
    expect(text).not.toContain("genAttrs");
  });

  it("has balanced braces, brackets and parentheses outside comments and strings", () => {
    for (const flakeParts of [false, true]) {
      const code = flakeSnippet({ flakeParts, systems: ["x86_64-linux"] })
        .split("\n")
        .map((l) => l.replace(/#.*$/, "").replace(/"[^"]*"/g, '""'))
        .join("\n");
      for (const [open, close] of [
        ["{", "}"],
        ["[", "]"],
        ["(", ")"],
      ] as const) {
        expect(code.split(open).length, `${open} in ${flakeParts ? "flake-parts" : "plain"}`).toBe(
          code.split(close).length,
        );
      }
    }
  });
});
