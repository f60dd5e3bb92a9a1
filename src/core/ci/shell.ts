/**
 * Just enough shell reading for `ci lint`: split a `run:` script into simple commands (across
 * `\` continuations, `;`, `&&`, `||`, `|`), tokenise them, and pick out Nix invocations with the
 * systems they build for. Not a shell parser: unknown syntax yields no findings, never a crash.
 */
import { SYSTEM_PATTERN } from "../nix/systems.js";

export interface ShellCommand {
  /** Words with quotes removed. */
  words: string[];
  /** Zero-based lines of the script the command spans. */
  lines: number[];
}

export interface NixTarget {
  system: string;
  /** Text to find in the source to place the finding (e.g. `--system aarch64-linux`). */
  needle: string;
  via: "--system" | "installable";
}

export interface NixInvocation {
  command: ShellCommand;
  /** `build`, `run`, `develop`, … (or `nix-build`). */
  subcommand: string;
  targets: NixTarget[];
  impure: boolean;
  /** The `--system` value given, if any (literal or not). */
  systemFlag: string | null;
}

/** Splits a word list on unquoted separators; quotes are removed from words. */
function tokenize(text: string): { words: string[]; separators: number[] } {
  const words: string[] = [];
  const separators: number[] = [];
  let current = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  const flush = () => {
    if (inWord) words.push(current);
    current = "";
    inWord = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (c === "#" && !inWord) {
      break; // comment to end of line
    } else if (/\s/.test(c)) {
      flush();
    } else if (c === ";" || c === "&" || c === "|" || c === "(" || c === ")") {
      flush();
      separators.push(words.length);
    } else {
      current += c;
      inWord = true;
    }
  }
  flush();
  return { words, separators };
}

/** The simple commands of a script, each with the script lines it spans. */
export function splitCommands(script: string): ShellCommand[] {
  const rawLines = script.split(/\r?\n/);
  const commands: ShellCommand[] = [];
  for (let i = 0; i < rawLines.length; i++) {
    const lines = [i];
    let text = rawLines[i]!;
    while (/(^|[^\\])(\\\\)*\\$/.test(text) && i + 1 < rawLines.length) {
      text = `${text.slice(0, -1)} ${rawLines[++i]}`;
      lines.push(i);
    }
    const { words, separators } = tokenize(text);
    let start = 0;
    for (const end of [...separators, words.length]) {
      if (end > start) commands.push({ words: words.slice(start, end), lines });
      start = end;
    }
  }
  return commands;
}

/** A literal Linux or macOS system (no shell or Actions expression in it): what a CI job builds for. */
function isLiteralSystem(s: string): boolean {
  return SYSTEM_PATTERN.test(s) && /-(linux|darwin)$/.test(s);
}

/** Flake output attributes laid out as `<attr>.<system>.<name>`. */
const PER_SYSTEM_INSTALLABLE =
  /#(?:packages|checks|legacyPackages|devShells|apps|formatter)\.([a-z0-9_]+-(?:linux|darwin))(?:\.|$)/;

const WRAPPERS = new Set(["sudo", "env", "time", "exec", "command", "nice"]);

function stripWrappers(words: string[]): string[] {
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    if (
      WRAPPERS.has(w) ||
      /^[A-Za-z_][A-Za-z0-9_]*=/.test(w) ||
      (i > 0 && WRAPPERS.has(words[i - 1]!) && w.startsWith("-"))
    ) {
      i++;
      continue;
    }
    break;
  }
  return words.slice(i);
}

/** Nix invocations that build something, with the systems they ask for. */
export function nixInvocations(script: string): NixInvocation[] {
  const out: NixInvocation[] = [];
  for (const command of splitCommands(script)) {
    const words = stripWrappers(command.words);
    const program = words[0];
    if (program !== "nix" && program !== "nix-build" && program !== "nix-shell") continue;
    let subcommand = program;
    const targets: NixTarget[] = [];
    let impure = false;
    let systemFlag: string | null = null;
    for (let i = 1; i < words.length; i++) {
      const w = words[i]!;
      if (program === "nix" && subcommand === "nix" && !w.startsWith("-")) {
        subcommand = w;
        continue;
      }
      if (w === "--impure") impure = true;
      let system: string | null = null;
      let needle = "";
      if (w === "--system" && i + 1 < words.length) {
        system = words[++i]!;
        needle = "--system";
      } else if (w.startsWith("--system=")) {
        system = w.slice("--system=".length);
        needle = w;
      } else if (w === "--option" && words[i + 1] === "system" && i + 2 < words.length) {
        system = words[i + 2]!;
        i += 2;
        needle = "--option";
      }
      if (system !== null) {
        systemFlag = system;
        if (isLiteralSystem(system)) targets.push({ system, needle, via: "--system" });
        continue;
      }
      const m = PER_SYSTEM_INSTALLABLE.exec(w);
      if (m && !w.startsWith("-")) targets.push({ system: m[1]!, needle: m[0].slice(1), via: "installable" });
    }
    out.push({ command, subcommand, targets, impure, systemFlag });
  }
  return out;
}

/** The platforms an `extra-platforms = …` line (nix.conf syntax) adds, anywhere in `text`. */
export function extraPlatformsIn(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|[\s"'])(?:extra-)?platforms\s*=\s*([^\n"'\\]*)/g)) {
    for (const s of m[1]!.trim().split(/\s+/)) if (isLiteralSystem(s)) found.push(s);
  }
  // On a Nix command line: `--extra-platforms aarch64-linux` or `--option extra-platforms aarch64-linux`.
  for (const m of text.matchAll(/--(?:option\s+)?(?:extra-)?platforms\s+["']?([a-z0-9_ -]+)/g)) {
    for (const s of m[1]!.trim().split(/\s+/)) if (isLiteralSystem(s)) found.push(s);
  }
  return found;
}

/** Whether a script sets up binfmt_misc interpreters (qemu-user-static, binfmt-support, tonistiigi/binfmt, …). */
export function setsUpBinfmt(text: string): boolean {
  return /qemu-user-static|qemu-user-binfmt|binfmt-support|tonistiigi\/binfmt|multiarch\/qemu-user-static|update-binfmts|binfmt_misc\/register/.test(
    text,
  );
}
