// Renders doctor's checks as the human report.
import { stripVTControlCharacters } from "node:util";
import { type Check, type CheckStatus, summarize } from "../core/doctor/types.js";
import type { Style } from "./style.js";

export interface ReportOptions {
  verbose: boolean;
  /** Builder name → store URI, for the builder headings. */
  builderUris: Map<string, string>;
  /** How many fixes `--fix` could apply (0: say nothing). */
  fixable: number;
}

function mark(status: CheckStatus, style: Style): string {
  switch (status) {
    case "ok":
      return style.green("✓");
    case "warn":
      return style.yellow("!");
    case "fail":
      return style.red("✗");
    case "skip":
      return style.dim("-");
  }
}

const width = (s: string) => stripVTControlCharacters(s).length;

function section(
  title: string,
  checks: Check[],
  style: Style,
  options: ReportOptions,
  label: (c: Check) => string,
): string[] {
  const out = ["", style.bold(title)];
  const pad = Math.max(...checks.map((c) => width(label(c))));
  for (const c of checks) {
    const name = label(c);
    const observed = c.status === "skip" ? style.dim(c.observed) : c.observed;
    const id = c.status === "warn" || c.status === "fail" || options.verbose ? `  ${style.dim(`[${c.id}]`)}` : "";
    out.push(`  ${mark(c.status, style)} ${name}${" ".repeat(pad - width(name))}  ${observed}${id}`);
    if (c.fix && c.status !== "ok") {
      const indent = " ".repeat(pad + 6);
      out.push(
        `${indent}${style.bold("fix:")} ${c.fix.description}${c.fix.auto ? style.dim(" (crossnix doctor --fix does this)") : ""}`,
      );
      if (c.fix.command) out.push(`${indent}${style.bold("run:")} ${style.cyan(c.fix.command)}`);
    }
  }
  return out;
}

/** The human report: grouped (local Nix, configuration, each builder, end to end), one line per check. */
export function renderDoctorReport(checks: readonly Check[], style: Style, options: ReportOptions): string {
  const out: string[] = [];
  const title = (c: Check) => c.title;
  const local = checks.filter((c) => c.group === "local");
  const config = checks.filter((c) => c.group === "configuration");
  if (local.length) out.push(...section("Local Nix", local, style, options, title));
  if (config.length) out.push(...section("Configuration", config, style, options, title));
  const caches = checks.filter((c) => c.group === "cache");
  if (caches.length) out.push(...section("Binary caches", caches, style, options, title));
  const builders = [...new Set(checks.filter((c) => c.group === "builder").map((c) => c.builder ?? "?"))];
  for (const name of builders) {
    const uri = options.builderUris.get(name)?.split("?")[0];
    const heading = `Builder ${name}${uri && uri !== name ? ` ${style.dim(`(${uri})`)}` : ""}`;
    out.push(
      ...section(
        heading,
        checks.filter((c) => c.group === "builder" && c.builder === name),
        style,
        options,
        title,
      ),
    );
  }
  const e2e = checks.filter((c) => c.group === "end-to-end");
  if (e2e.length) {
    out.push(
      ...section("End to end", e2e, style, options, (c) =>
        c.builder ? `${c.builder} ${c.system ?? ""}`.trim() : c.title,
      ),
    );
  }
  const s = summarize(checks);
  const parts = [
    s.fail ? style.red(`${s.fail} failed`) : null,
    s.warn ? style.yellow(`${s.warn} ${s.warn === 1 ? "warning" : "warnings"}`) : null,
    style.green(`${s.ok} ok`),
    s.skip ? style.dim(`${s.skip} skipped`) : null,
  ].filter((p): p is string => p !== null);
  out.push(
    "",
    `${style.bold(s.fail ? "Problems found:" : s.warn ? "Working, with warnings:" : "All good:")} ${parts.join(", ")}.`,
  );
  if (options.fixable > 0) {
    out.push(
      `${options.fixable === 1 ? "1 fix" : `${options.fixable} fixes`} can be applied as one plan (you see the diff first): ${style.cyan("crossnix doctor --fix")}`,
    );
  }
  return out.join("\n").replace(/^\n/, "");
}
