// The `ci flake-snippet` use case: multi-system flake boilerplate for the systems asked for.
import { flakeSnippet } from "../../core/ci/snippet.js";

export interface FlakeSnippetInput {
  /** For a flake built with flake-parts (systems + perSystem). */
  flakeParts: boolean;
  systems: string[];
}

/** Multi-system packages boilerplate for flake.nix. */
export function flakeSnippetFor(input: FlakeSnippetInput): FlakeSnippetInput & { snippet: string } {
  return { flakeParts: input.flakeParts, systems: input.systems, snippet: flakeSnippet(input) };
}
