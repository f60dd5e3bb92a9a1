// The nix.conf model: parsing, reading settings and validation.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  getSetting,
  listIncludes,
  listSettings,
  parseNixConf,
  removeSetting,
  renderNixConf,
  setSetting,
  syntaxErrors,
  validateNixConf,
} from "../../src/core/formats/nix-conf.js";
import { CrossnixError } from "../../src/errors.js";

const parse = (text: string) => parseNixConf(text, "/etc/nix/nix.conf");
const kinds = (text: string) => parse(text).lines.map((l) => l.kind);

function validationError(text: string): CrossnixError {
  try {
    validateNixConf(parse(text));
  } catch (error) {
    if (error instanceof CrossnixError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe("parseNixConf", () => {
  it("reads settings with any whitespace around a separate '=' and joins value words with one space", () => {
    const conf = parse("a = 1\n\tb\t=\tx   y\tz  \n  c =\nd = v # note\n");
    expect(listSettings(conf)).toEqual([
      { name: "a", value: "1", line: 1, extra: false },
      { name: "b", value: "x y z", line: 2, extra: false },
      { name: "c", value: "", line: 3, extra: false },
      { name: "d", value: "v", line: 4, extra: false },
    ]);
  });

  it("cuts comments at the first '#', even inside a value (Nix has no quoting)", () => {
    const conf = parse('builders = ssh://a "x#y" ; ssh://b\nsubstituters = https://c/#frag\n');
    expect(getSetting(conf, "builders")?.value).toBe('ssh://a "x');
    expect(getSetting(conf, "substituters")?.value).toBe("https://c/");
  });

  it("treats CR as whitespace and keeps it in the line", () => {
    const text = "max-jobs = 4\r\n# c\r\n\r\n";
    const conf = parse(text);
    expect(kinds(text)).toEqual(["setting", "comment", "blank"]);
    expect(getSetting(conf, "max-jobs")).toEqual({ value: "4", line: 1 });
    expect(renderNixConf(conf)).toBe(text);
  });

  it("classifies comments, blanks, includes and bad lines", () => {
    expect(kinds("# c\n   \n\t# indented\ninclude a.conf\n!include /b.conf\nbogus\n")).toEqual([
      "comment",
      "blank",
      "comment",
      "include",
      "include",
      "invalid",
    ]);
    expect(listIncludes(parse("include a.conf\n  !include /b.conf # x\n"))).toEqual([
      { path: "a.conf", optional: false, line: 1, column: 9 },
      { path: "/b.conf", optional: true, line: 2, column: 12 },
    ]);
  });

  it("rejects what Nix rejects: '=' without spaces, one word, include with 0 or 2+ paths", () => {
    for (const bad of ["a=b", "a =b", "a= b", "a", "include", "include a b", "include = x", "!include", "a b c"]) {
      expect(kinds(bad), bad).toEqual(["invalid"]);
    }
    // Odd but accepted by Nix: the name is '=' (an unknown setting, a warning only).
    expect(kinds("= = 3")).toEqual(["setting"]);
  });

  it("has no lines for empty text and no phantom line after a final newline", () => {
    expect(parse("").lines).toEqual([]);
    expect(parse("a = 1\n").lines).toHaveLength(1);
    expect(parse("a = 1").lines[0]?.eol).toBe("");
    expect(parse("\n").lines.map((l) => l.kind)).toEqual(["blank"]);
  });
});

describe("getSetting / listSettings", () => {
  it("takes the last assignment and ignores extra- lines", () => {
    const conf = parse("builders = @/a\nbuilders = @/b\nextra-builders = @/c\n");
    expect(getSetting(conf, "builders")).toEqual({ value: "@/b", line: 2 });
    expect(getSetting(conf, "extra-builders")).toEqual({ value: "@/c", line: 3 });
    expect(getSetting(conf, "max-jobs")).toBeUndefined();
    expect(listSettings(conf).map((s) => s.extra)).toEqual([false, false, true]);
  });
});

describe("validateNixConf", () => {
  it("passes a valid file", () => {
    expect(() => validateNixConf(parse("# ok\na = b\ninclude x\n\n"))).not.toThrow();
  });

  it("names file:line:column and the line without its comment", () => {
    const error = validationError("a = 1\n  max-jobs=4 # four\n");
    expect(error.code).toBe("PARSE");
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe("/etc/nix/nix.conf:2:3: syntax error in configuration line: '  max-jobs=4'");
    expect(error.hint).toContain("spaces");
    expect(error.detail).toMatchObject({ file: "/etc/nix/nix.conf", line: 2, column: 3 });
  });

  it("points at the offending word", () => {
    expect(validationError("cores =3").detail).toMatchObject({ column: 7 });
    expect(validationError("include a b").detail).toMatchObject({ column: 11 });
  });

  it("lists every bad line", () => {
    expect(syntaxErrors(parse("x\ny = 1\nz\n")).map((e) => e.detail?.["line"])).toEqual([1, 3]);
  });
});

describe("setSetting", () => {
  it("rewrites only the last assignment, keeping indentation, spacing and comment", () => {
    const text = "# top\nbuilders = @/old\n  builders\t=  @/a   @/b   # mine\nmax-jobs = 1\n";
    const out = renderNixConf(setSetting(parse(text), "builders", "@/etc/nix/machines"));
    expect(out).toBe("# top\nbuilders = @/old\n  builders\t=  @/etc/nix/machines   # mine\nmax-jobs = 1\n");
  });

  it("fills an empty value and can empty a value", () => {
    expect(renderNixConf(setSetting(parse("a =\n"), "a", "1"))).toBe("a = 1\n");
    expect(renderNixConf(setSetting(parse("a =# c\n"), "a", "1"))).toBe("a = 1 # c\n");
    expect(renderNixConf(setSetting(parse("a = 1 # c\n"), "a", ""))).toBe("a = # c\n");
    expect(renderNixConf(setSetting(parse("a = 1\r\n"), "a", ""))).toBe("a =\r\n");
  });

  it("appends at the end with an optional comment, adding a missing final newline first", () => {
    expect(renderNixConf(setSetting(parse("a = 1"), "b", "2", "added by crossnix"))).toBe(
      "a = 1\n# added by crossnix\nb = 2\n",
    );
    expect(renderNixConf(setSetting(parse(""), "b", "2"))).toBe("b = 2\n");
    expect(renderNixConf(setSetting(parse("a = 1\r\nc = 3"), "b", "2", "x"))).toBe(
      "a = 1\r\nc = 3\r\n# x\r\nb = 2\r\n",
    );
  });

  it("does not touch extra- lines (they still append afterwards)", () => {
    const text = "extra-substituters = https://b\n";
    expect(renderNixConf(setSetting(parse(text), "substituters", "https://a"))).toBe(
      `${text}substituters = https://a\n`,
    );
  });

  it("is a no-op when the value is already there", () => {
    const conf = parse("a =   x    y  # c");
    expect(setSetting(conf, "a", "x y")).toBe(conf);
    expect(renderNixConf(setSetting(conf, "a", " x  y "))).toBe("a =   x    y  # c");
  });

  it("refuses values and names nix.conf cannot hold", () => {
    expect(() => setSetting(parse(""), "builders", "ssh://a\nssh://b")).toThrow(CrossnixError);
    expect(() => setSetting(parse(""), "a", "x # y")).toThrow(/no quoting/);
    expect(() => setSetting(parse(""), "a=b", "1")).toThrow(CrossnixError);
    expect(() => setSetting(parse(""), "include", "1")).toThrow(CrossnixError);
  });
});

describe("removeSetting", () => {
  it("removes every plain assignment of the name and nothing else", () => {
    const text = "# keep\nbuilders = @/a\nextra-builders = x\nmax-jobs = 1\n  builders = @/b # c\n";
    expect(renderNixConf(removeSetting(parse(text), "builders"))).toBe("# keep\nextra-builders = x\nmax-jobs = 1\n");
    const conf = parse(text);
    expect(removeSetting(conf, "cores")).toBe(conf);
  });
});

// ---- properties ----

const ws = fc.stringMatching(/^[ \t]{1,3}$/);
const optWs = fc.stringMatching(/^[ \t]{0,3}$/);
const word = fc.stringMatching(/^[A-Za-z0-9@:/._,;=!"'-]{1,12}$/).filter((w) => w !== "=");
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).filter((n) => n !== "include");
const commentText = fc.stringMatching(/^[^\n]{0,20}$/);

interface Generated {
  text: string;
  settings: { name: string; value: string }[];
}

const settingLine = fc
  .record({
    indent: optWs,
    name,
    before: ws,
    after: ws,
    words: fc.array(word, { maxLength: 4 }),
    sep: ws,
    trail: optWs,
    comment: fc.option(commentText, { nil: undefined }),
  })
  .map((r) => ({
    text: `${r.indent}${r.name}${r.before}=${r.words.length ? r.after + r.words.join(r.sep) : ""}${r.trail}${r.comment === undefined ? "" : `#${r.comment}`}`,
    setting: { name: r.name, value: r.words.join(" ") },
  }));

const otherLine = fc.oneof(
  optWs.map((w) => w),
  fc.tuple(optWs, commentText).map(([w, c]) => `${w}#${c}`),
  fc.tuple(optWs, fc.constantFrom("include", "!include"), ws, word).map(([a, kw, b, p]) => `${a}${kw}${b}${p}`),
);

const validFile: fc.Arbitrary<Generated> = fc
  .record({
    lines: fc.array(
      fc.oneof(
        settingLine,
        otherLine.map((text) => ({ text, setting: undefined })),
      ),
      { maxLength: 12 },
    ),
    crlf: fc.boolean(),
    finalNewline: fc.boolean(),
  })
  .map(({ lines, crlf, finalNewline }) => {
    const eol = crlf ? "\r\n" : "\n";
    const body = lines.map((l) => l.text).join(eol);
    return {
      text: lines.length && finalNewline ? body + eol : body,
      settings: lines.flatMap((l) => (l.setting ? [l.setting] : [])),
    };
  });

const noisyString = fc.string({
  unit: fc.constantFrom("a", "b", "=", "#", " ", "\t", "\r", "\n", "include", "!include", "é", "\u0000"),
  maxLength: 60,
});

describe("properties", () => {
  it("valid files round-trip byte-exactly, validate, and read back their settings", () => {
    fc.assert(
      fc.property(validFile, ({ text, settings }) => {
        const conf = parse(text);
        expect(renderNixConf(conf)).toBe(text);
        validateNixConf(conf);
        expect(listSettings(conf).map(({ name, value }) => ({ name, value }))).toEqual(settings);
      }),
      { numRuns: 300 },
    );
  });

  it("any text round-trips exactly and validation only ever throws CrossnixError", () => {
    fc.assert(
      fc.property(fc.oneof(noisyString, fc.string({ unit: "binary", maxLength: 60 })), (text) => {
        const conf = parse(text);
        expect(renderNixConf(conf)).toBe(text);
        try {
          validateNixConf(conf);
        } catch (error) {
          expect(error).toBeInstanceOf(CrossnixError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("setSetting gives the value back, changes one line or only appends, and keeps a valid file valid", () => {
    fc.assert(
      fc.property(
        validFile,
        fc.constantFrom("builders", "max-jobs", "a", "extra-platforms"),
        fc.array(word, { maxLength: 3 }),
        fc.option(commentText, { nil: undefined }),
        ({ text }, key, words, comment) => {
          const value = words.join(" ");
          const before = parse(text);
          const after = setSetting(before, key, value, comment);
          const rendered = renderNixConf(after);
          const reparsed = parse(rendered);
          expect(getSetting(reparsed, key)?.value).toBe(value);
          validateNixConf(reparsed);

          const existing = getSetting(before, key);
          if (existing) {
            expect(after.lines).toHaveLength(before.lines.length);
            const changed = after.lines.flatMap((l, i) => (l.raw === before.lines[i]!.raw ? [] : [i + 1]));
            expect(changed.filter((n) => n !== existing.line)).toEqual([]);
            // The rewritten line keeps its indentation and its comment.
            const was = before.lines[existing.line - 1]!.raw;
            const now = after.lines[existing.line - 1]!.raw;
            expect(now.match(/^[ \t]*/)?.[0]).toBe(was.match(/^[ \t]*/)?.[0]);
            expect(now.includes("#") ? now.slice(now.indexOf("#")) : "").toBe(
              was.includes("#") ? was.slice(was.indexOf("#")) : "",
            );
          } else {
            expect(rendered.startsWith(text)).toBe(true);
          }
          // Removing it again leaves no plain assignment of the name.
          expect(getSetting(removeSetting(reparsed, key), key)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });
});
