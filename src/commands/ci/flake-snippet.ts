// `crossnix ci flake-snippet`: parses options and prints the snippet.
import { flakeSnippetFor } from "../../app/ci/flake-snippet.js";
import type { Handler } from "../../context.js";
import { SYSTEM_ORDER } from "../../core/ci/facts.js";
import { parseSystemList } from "../../core/ci/options.js";
import { flagOption, type RawOptions, textOption } from "../options.js";

export interface FlakeSnippetOptions {
  flakeParts: boolean;
  systems: string[];
}

export function parseFlakeSnippetOptions(raw: RawOptions): FlakeSnippetOptions {
  return {
    systems: parseSystemList(textOption(raw, "systems") ?? SYSTEM_ORDER.join(",")),
    flakeParts: flagOption(raw, "flakeParts"),
  };
}

const snippet: Handler = async (_ctx, { options }) => {
  const result = flakeSnippetFor(parseFlakeSnippetOptions(options));
  return { json: result, text: result.snippet };
};

export default snippet;
