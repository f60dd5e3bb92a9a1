// POSIX shell quoting of arguments and commands.
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isCrossnixError } from "../../src/errors.js";
import { quoteArg, quoteCommand } from "../../src/core/shell.js";

/** What a POSIX shell makes of `printf '%s\0' <quoted argv>`: the argv it saw. */
function roundTrip(argv: string[]): string[] {
  const out = execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${quoteCommand(argv)}`], { encoding: "utf8" });
  return out.split("\0").slice(0, -1);
}

describe("quoteArg", () => {
  it("leaves safe words bare", () => {
    expect(quoteArg("nix-store")).toBe("nix-store");
    expect(quoteArg("/nix/var/nix/profiles/default/bin/nix-daemon")).toBe(
      "/nix/var/nix/profiles/default/bin/nix-daemon",
    );
    expect(quoteArg("user@host:22,a+b%c")).toBe("user@host:22,a+b%c");
  });

  it("single-quotes everything else", () => {
    expect(quoteArg("")).toBe("''");
    expect(quoteArg("a b")).toBe("'a b'");
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteArg('$HOME `id` \\ "x"')).toBe(`'$HOME \`id\` \\ "x"'`);
    expect(quoteArg("a\nb")).toBe("'a\nb'");
  });

  it("quotes '=' and '~', which change meaning as a first word", () => {
    expect(quoteArg("A=1")).toBe("'A=1'");
    expect(quoteArg("~root")).toBe("'~root'");
    expect(roundTrip(["A=1", "~", "~/x"])).toEqual(["A=1", "~", "~/x"]);
  });

  it("refuses NUL, which no argv can carry", () => {
    let caught: unknown;
    try {
      quoteArg("a\0b");
    } catch (e) {
      caught = e;
    }
    expect(isCrossnixError(caught) && caught.code).toBe("BAD_INPUT");
  });
});

describe("quoteCommand", () => {
  it("joins quoted arguments with spaces", () => {
    expect(quoteCommand(["sh", "-c", "echo 'hi' $X"])).toBe(`sh -c 'echo '\\''hi'\\'' $X'`);
    expect(quoteCommand([])).toBe("");
  });

  it("gives /bin/sh back exactly the argv, for any strings", () => {
    const nasty = fc.constantFrom(
      "'",
      '"',
      "$",
      "`",
      "\\",
      " ",
      "\n",
      "\t",
      "*",
      "?",
      "~",
      "=",
      "#",
      ";",
      "&",
      "|",
      "!",
      "é",
      "😀",
    );
    const piece = fc.oneof(fc.string({ unit: "binary" }), nasty, fc.string({ unit: nasty }));
    const arg = piece.map((s) => s.replaceAll("\0", ""));
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 6 }), (argv) => {
        expect(roundTrip(argv)).toEqual(argv);
      }),
      { numRuns: 200 },
    );
  });
});
