// Commander hands each action a raw `Record<string, unknown>`. Every command reads it once, into
// its own typed options interface, with these helpers; nothing after that sees the raw record.

export type RawOptions = Record<string, unknown>;

/** A `--name <value>` option: its string, or undefined when it was not given. */
export function stringOption(raw: RawOptions, key: string): string | undefined {
  const value = raw[key];
  return value === undefined ? undefined : String(value);
}

/** A `--name <value>` option given only as a string (anything else, e.g. a non-string default, is undefined). */
export function textOption(raw: RawOptions, key: string): string | undefined {
  const value = raw[key];
  return typeof value === "string" ? value : undefined;
}

/** A `--flag`: true only when it was given (commander leaves it undefined otherwise). */
export function flagOption(raw: RawOptions, key: string): boolean {
  return raw[key] === true;
}

/** A `--no-flag` (commander's negation): true unless it was given. */
export function negatableOption(raw: RawOptions, key: string): boolean {
  return raw[key] !== false;
}

/** A repeatable `--name <value>` option collected into an array ([] when never given). */
export function listOption(raw: RawOptions, key: string): string[] {
  const value = raw[key];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
