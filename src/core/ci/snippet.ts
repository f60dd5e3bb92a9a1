// The multi-system `packages` boilerplate `ci flake-snippet` prints.
import { SYSTEM_ORDER } from "./facts.js";

/** The systems a snippet lists when none are given: the four GitHub has native runners for. */
export const DEFAULT_SNIPPET_SYSTEMS = SYSTEM_ORDER;

function nixList(systems: string[]): string {
  return `[ ${systems.map((s) => JSON.stringify(s)).join(" ")} ]`;
}

/**
 * Multi-system `packages` boilerplate (the seed guide's "multi-architecture packages", done for
 * every system rather than two). Without flake-parts: `nixpkgs.lib.genAttrs` over a system list.
 * With flake-parts: `systems` plus `perSystem`, which hands each system its own `pkgs`.
 */
export function flakeSnippet(options: { flakeParts: boolean; systems: string[] }): string {
  const systems = nixList(options.systems);
  if (options.flakeParts) {
    return `# flake.nix — multi-system packages with flake-parts.
# Keep your own inputs and outputs; what matters is \`systems\` and \`perSystem\`.
{
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    flake-parts.url = "github:hercules-ci/flake-parts";
  };

  outputs = inputs@{ flake-parts, ... }:
    flake-parts.lib.mkFlake { inherit inputs; } {
      systems = ${systems};

      # Evaluated once per system; \`pkgs\` is nixpkgs for that system.
      perSystem = { pkgs, ... }: {
        packages.default = pkgs.callPackage ./package.nix { };
        # packages.other = pkgs.callPackage ./other.nix { };
      };
    };
}
`;
  }
  return `# flake.nix — multi-system packages without flake-parts.
# Keep your own inputs and outputs; what matters is \`forAllSystems\` and \`packages\`.
{
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs, ... }:
    let
      systems = ${systems};
      # genAttrs builds { x86_64-linux = f "x86_64-linux"; ... }; each system gets its own pkgs.
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.\${system});
    in
    {
      packages = forAllSystems (pkgs: {
        default = pkgs.callPackage ./package.nix { };
        # other = pkgs.callPackage ./other.nix { };
      });
    };
}
`;
}
