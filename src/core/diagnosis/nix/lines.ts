// Nix's output as lines (ANSI stripped, prefixes and log lines told apart), and the names in them.

export const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, "");
}

// ---------------------------------------------------------------------------------------------
// Lines

export interface Line {
  text: string;
  /** text without a leading `error:` / `warning:` / `note:` or trace `…`. */
  body: string;
  /** A build-log line (`> …` in a log tail, `name> …` with -L). */
  log: boolean;
  /** For log lines the logged text (its body); otherwise body. */
  content: string;
}

export const LOG_LINE = /^[\w.+@-]*> ?(.*)$/;

export function bodyOf(text: string): string {
  return text.replace(/^(?:error|warning|note):\s*/, "").replace(/^…\s*/, "");
}

export function toLines(stderr: string): Line[] {
  return stripAnsi(stderr)
    .split(/\r\n|\n|\r/)
    .map((raw) => {
      const text = raw.trim();
      const log = LOG_LINE.exec(text);
      const body = bodyOf(text);
      return { text, body, log: log !== null, content: log ? bodyOf(log[1]!.trim()) : body };
    });
}

/** Lines Nix itself prints (not ssh's or a remote shell's stderr). Case matters: ssh says "Warning:". */
export const NIX_LINE: RegExp[] = [
  /^(?:error|warning|note|trace|hint)(?::|$)/,
  /^…/,
  /^(?:cannot build on '|unable to open SSH connection|build of '|building '|checking outputs of|repairing outputs of|copying |these |this derivation|this path|will be |Failed to find a machine|derivation: |required \(system|\d+ available machines|\(systems, maxjobs|Cannot build '|Reason: |Required (?:system|features)|Current system|Available features|Hint: |Note: |Output paths:|[Ll]ast \d+ log lines|For full logs|nix log |nix-store -l |[Uu]nable to start any build|either increase|remote machines may not|@nix |\[\d|\/nix\/store\/|unpacking |evaluating |fetching |querying |downloading |waiting for |connecting to |don't know how to build)/,
  /^\(.*\)$/,
];

/** Remote-side lines that may carry an `error:` prefix (printed by the builder's Nix or shell). */
export const SSH_SIDE: RegExp[] = [/unable to execute 'ssh'/, /cannot connect to (?:socket|daemon) at '/];

/** `ssh-ng://nix@host:22?x=y` → `host`, for comparing builders named as URI or host. */
export function hostOf(s: string): string {
  return s
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")
    .replace(/[?/].*$/, "")
    .replace(/^.*@/, "")
    .replace(/:\d+$/, "");
}

/** The ssh destination in a URI (`user@host[:port]`), for commands a person runs. */
export function destOf(s: string): string {
  return s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/[?/].*$/, "");
}

export function schemeOf(uri: string): string {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1] ?? "ssh";
}

export function drvBase(drv: string | undefined): string {
  return drv ? (drv.split("/").at(-1) ?? drv) : "";
}

export function list(s: string): string[] {
  return s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
}

export function uniqueLines(lines: string[]): string[] {
  return [...new Set(lines.map((l) => l.trim()).filter(Boolean))];
}

export function programFor(scheme: string | undefined): "nix-store" | "nix-daemon" | undefined {
  if (scheme === "ssh-ng") return "nix-daemon";
  if (scheme === "ssh") return "nix-store";
  return undefined;
}
