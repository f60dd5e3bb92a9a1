import type { Handler } from "../../context.js";
import { SYSTEM_ORDER } from "../../core/ci/facts.js";
import { parseSystemList } from "../../core/ci/options.js";
import { flakeSnippet } from "../../core/ci/snippet.js";

const snippet: Handler = async (_ctx, { options }) => {
  const raw = typeof options["systems"] === "string" ? options["systems"] : SYSTEM_ORDER.join(",");
  const systems = parseSystemList(raw);
  const flakeParts = options["flakeParts"] === true;
  const text = flakeSnippet({ flakeParts, systems });
  return { json: { flakeParts, systems, snippet: text }, text };
};

export default snippet;
