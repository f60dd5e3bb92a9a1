// Adds and removes single words of list settings (extra-substituters, extra-trusted-public-keys) in
// one nix.conf, keeping every other byte (the lossless model in core/formats/nix-conf.ts).
import { appendSetting, type NixConf, type NixConfLine, setSetting } from "../formats/nix-conf.js";

type SettingLine = Extract<NixConfLine, { kind: "setting" }>;

/** Words of every `name = …` line of this file, in order. */
export function tokensOf(conf: NixConf, name: string): string[] {
  return conf.lines.flatMap((l) => (l.kind === "setting" && l.name === name ? l.value.split(" ").filter(Boolean) : []));
}

/**
 * The file with `tokens` added to `name`: appended to its last `name = …` line when the file has
 * one, else a new line (after a `# comment`) at the end. Words already on a `name` line stay once.
 */
export function addTokens(conf: NixConf, name: string, tokens: readonly string[], comment: string): NixConf {
  const present = new Set(tokensOf(conf, name));
  const missing = tokens.filter((t) => !present.has(t));
  if (missing.length === 0) return conf;
  const last = [...conf.lines].reverse().find((l): l is SettingLine => l.kind === "setting" && l.name === name);
  if (!last) return appendSetting(conf, name, missing.join(" "), comment);
  return setSetting(conf, name, [last.value, ...missing].filter(Boolean).join(" "));
}

/**
 * The file with each of `tokens` taken off every `name = …` line. A line left with no words is
 * removed, with the `# crossnix: …` comment line right above it when there is one (both were
 * written together by addTokens).
 */
export function removeTokens(conf: NixConf, name: string, tokens: readonly string[]): NixConf {
  const drop = new Set(tokens);
  const lines: NixConfLine[] = [];
  for (const line of conf.lines) {
    if (line.kind !== "setting" || line.name !== name) {
      lines.push(line);
      continue;
    }
    const words = line.value.split(" ").filter(Boolean);
    const kept = words.filter((w) => !drop.has(w));
    if (kept.length === words.length) {
      lines.push(line);
      continue;
    }
    if (kept.length === 0) {
      const above = lines[lines.length - 1];
      if (above?.kind === "comment" && /^#\s*crossnix:/.test(above.raw)) lines.pop();
      continue;
    }
    const edited = setSetting({ fileName: conf.fileName, lines: [line] }, name, kept.join(" "));
    lines.push(edited.lines[0]!);
  }
  return lines.length === conf.lines.length && lines.every((l, i) => l === conf.lines[i]) ? conf : { ...conf, lines };
}
