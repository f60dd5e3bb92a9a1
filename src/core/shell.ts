// POSIX shell quoting for the one command line crossnix builds (the command ssh runs remotely).
import { badInput } from "../errors.js";

/**
 * Quoting for the one place crossnix builds a command line: the command ssh hands to the
 * remote user's login shell (`sh -c`-style, POSIX). Arguments made only of characters no POSIX
 * shell treats specially stay bare; everything else is single-quoted, where nothing is special
 * except the closing quote, written as `'\''`. `=` and `~` are not "safe": a leading `a=b` word
 * is an assignment and a leading `~` is expanded.
 */
export function quoteArg(arg: string): string {
  // A NUL cannot be part of an argv string on any Unix.
  if (arg.includes("\0")) throw badInput("remote command argument", arg, "contains a NUL byte");
  if (/^[A-Za-z0-9_@%+,./:-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A whole argv as one string for `ssh host -- <string>`; the remote shell splits it back into exactly `argv`. */
export function quoteCommand(argv: readonly string[]): string {
  return argv.map(quoteArg).join(" ");
}
