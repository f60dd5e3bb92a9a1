// netrc entries for private caches: one `machine H login L password P` line per entry crossnix writes.

export interface NetrcCredentials {
  login: string;
  password: string;
}

function lines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function isEntryFor(line: string, host: string, login: string | null): boolean {
  const words = line.trim().split(/\s+/);
  if (words[0] !== "machine" || words[1] !== host) return false;
  return login === null || (words[2] === "login" && words[3] === login);
}

/** The text with the one-line entry for `host` replaced (or added at the end). Other lines keep their bytes. */
export function setNetrcEntry(text: string, host: string, credentials: NetrcCredentials): string {
  const entry = `machine ${host} login ${credentials.login} password ${credentials.password}\n`;
  const all = lines(text);
  const at = all.findIndex((l) => isEntryFor(l, host, null));
  if (at !== -1) {
    all[at] = entry;
    return all.join("");
  }
  const joined = all.join("");
  return `${joined}${joined === "" || joined.endsWith("\n") ? "" : "\n"}${entry}`;
}

/** The text without the one-line entries for `host` and `login`. */
export function removeNetrcEntry(text: string, host: string, login: string): string {
  return lines(text)
    .filter((l) => !isEntryFor(l, host, login))
    .join("");
}

/**
 * Credentials for `host` as curl reads a netrc: a token stream of `machine`/`default` blocks with
 * `login` and `password`; the first matching machine wins, else `default`.
 */
export function netrcCredentials(text: string, host: string): NetrcCredentials | null {
  const tokens = text.split(/\s+/).filter(Boolean);
  let current: { host: string | null; login?: string; password?: string } | null = null;
  const blocks: { host: string | null; login?: string; password?: string }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === "machine") {
      current = { host: tokens[++i] ?? "" };
      blocks.push(current);
    } else if (token === "default") {
      current = { host: null };
      blocks.push(current);
    } else if (current && (token === "login" || token === "password")) {
      current[token] = tokens[++i] ?? "";
    }
  }
  const match = blocks.find((b) => b.host === host) ?? blocks.find((b) => b.host === null);
  return match?.login !== undefined && match.password !== undefined
    ? { login: match.login, password: match.password }
    : null;
}

/** Whether the text names `host` in a `machine` entry. */
export function netrcHasMachine(text: string, host: string): boolean {
  return netrcCredentials(text, host) !== null;
}
