// `crossnix cache check <installables…> [-- nix args]`: the check use case, one line per path and a summary.
import { checkCaches } from "../../app/caches/check.js";
import type { Handler } from "../../context.js";
import { formatBytes, summaryLine } from "../../core/caches/closure.js";
import { makeStyle } from "../../ui/style.js";
import { flagOption, stringOption } from "../options.js";

const check: Handler = async (ctx, { args, options, passthrough }) => {
  const result = await checkCaches(ctx, {
    installables: args,
    nixArgs: passthrough,
    system: stringOption(options, "system") ?? null,
    builders: flagOption(options, "builders"),
  });
  const style = makeStyle(ctx.options.color);
  const lines = result.paths.map((p) => {
    if (p.status === "valid") return `${style.green("here   ")} ${p.path}`;
    if (p.status === "cached") {
      return `${style.green("cached ")} ${p.path}  ${style.dim(`from ${p.cache}, ${formatBytes(p.downloadSize ?? p.narSize)}, signed by ${p.signedBy}`)}`;
    }
    const unverified = p.unverifiedIn.map((u) => `${u.cache}: ${u.why}`).join("; ");
    return `${style.yellow("build  ")} ${p.path}  ${style.dim(`${p.where}${p.system ? ` (${p.system})` : ""}`)}${
      unverified ? `\n         ${style.red(`in a cache but Nix will refuse it: ${unverified}`)}` : ""
    }`;
  });
  const notes = [
    ...result.caches
      .filter((c) => !c.reachable)
      .map((c) => style.yellow(`${c.url} could not be read (${c.problem}); Nix will skip it too`)),
    ...result.fetchedButUnverified.map((p) =>
      style.red(
        `nix build --dry-run says ${p} will be fetched, but no trusted key verifies it: Nix will build it instead`,
      ),
    ),
  ];
  const builderLines = (result.builders ?? []).flatMap((b) =>
    b.error
      ? [style.red(`builder ${b.builder}: could not ask it: ${b.error}`)]
      : b.caches.map((c) => {
          const problems = [
            ...(c.reachable ? [] : [`cannot open it (${c.why})`]),
            ...(c.listed ? [] : ["not in its substituters"]),
            ...(c.keyTrusted ? [] : ["no trusted key for it"]),
          ];
          return problems.length === 0
            ? `${style.green("builder")} ${b.builder}: uses ${c.url}`
            : `${style.yellow("builder")} ${b.builder}: cannot use ${c.url}: ${problems.join(", ")}`;
        }),
  );
  const text = [...lines, ...notes, ...builderLines, summaryLine(result.summary)].join("\n");
  return { json: result, text };
};

export default check;
