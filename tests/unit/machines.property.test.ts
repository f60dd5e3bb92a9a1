// Property tests of the machines-file model (parse and render round trips).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CrossnixError } from "../../src/errors.js";
import {
  addEntry,
  formatEntry,
  listEntries,
  listIncludes,
  type MachineEntry,
  parseBuildersValue,
  parseMachinesFile,
  removeEntry,
  renderMachinesFile,
  setEntryEnabled,
} from "../../src/core/formats/machines/index.js";

const RUNS = { numRuns: 250 };

const separator = fc.constantFrom(" ", "\t", "  ", " \t ");
const padding = fc.constantFrom("", "", " ", "\t", "  ");
const word = (pattern: RegExp) => fc.stringMatching(pattern);

const uri = fc
  .tuple(
    fc.constantFrom("", "ssh://", "ssh-ng://"),
    fc.option(word(/^[a-z][a-z0-9_]{0,6}@$/), { nil: "" }),
    word(/^[a-z][a-z0-9.-]{0,12}$/),
    fc.option(
      fc.integer({ min: 1, max: 65535 }).map((port) => `:${port}`),
      { nil: "" },
    ),
    fc.constantFrom("", "", "?remote-program=/nix/var/nix/profiles/default/bin/nix-daemon"),
  )
  .map((parts) => parts.join(""));
const system = fc.constantFrom("x86_64-linux", "aarch64-linux", "aarch64-darwin", "i686-linux", "mips-plan9");
const feature = word(/^[a-z][a-z0-9-]{0,8}$/);

const machineEntry: fc.Arbitrary<MachineEntry> = fc.record({
  uri,
  systems: fc.array(system, { maxLength: 3 }),
  sshKey: fc.option(word(/^\/[a-z0-9_./-]{1,15}$/), { nil: null }),
  maxJobs: fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { nil: null }),
  speedFactor: fc.option(fc.oneof(fc.integer({ min: 0, max: 64 }), fc.double({ min: 0, max: 1e6, noNaN: true })), {
    nil: null,
  }),
  supportedFeatures: fc.array(feature, { maxLength: 3 }),
  mandatoryFeatures: fc.array(feature, { maxLength: 2 }),
  hostKey: fc.option(
    fc.base64String({ minLength: 4, maxLength: 60 }).filter((key) => /[^=]/.test(key)),
    { nil: null },
  ),
});

/** An entry written by hand: tabs or runs of spaces, trailing '-' fields, surplus tokens after the 8th. */
const handWrittenEntry = fc
  .record({
    entry: machineEntry,
    separators: fc.array(separator, { minLength: 12, maxLength: 12 }),
    trailingDashes: fc.nat(8),
    surplus: fc.array(word(/^[a-z0-9-]{1,5}$/), { maxLength: 3 }),
  })
  .map(({ entry, separators, trailingDashes, surplus }) => {
    const list = (items: string[]) => (items.length === 0 ? null : items.join(","));
    const fields = [
      entry.uri,
      list(entry.systems),
      entry.sshKey,
      entry.maxJobs === null ? null : String(entry.maxJobs),
      entry.speedFactor === null ? null : String(entry.speedFactor),
      list(entry.supportedFeatures),
      list(entry.mandatoryFeatures),
      entry.hostKey,
    ];
    let count = 8;
    while (count > 1 && fields[count - 1] === null) count--;
    count = Math.min(8, count + trailingDashes);
    const tokens = fields.slice(0, count).map((field) => field ?? "-");
    if (count === 8) tokens.push(...surplus);
    const text = tokens.map((token, index) => (index === 0 ? token : separators[index - 1] + token)).join("");
    return { text, entry };
  });

interface Line {
  text: string;
  entries: MachineEntry[];
  includes: string[];
  tags: string[];
}

const commentText = fc.string({ maxLength: 20 }).map((text) => text.replaceAll("\n", ""));
const include = fc
  .tuple(padding, word(/^\/[a-z0-9_./-]{0,20}$/), padding)
  .map(([before, path, after]) => ({ text: `@${before}${path}${after}`, path }));
const item = fc.oneof(
  { weight: 3, arbitrary: handWrittenEntry.map(({ text, entry }) => ({ text, entry, path: null })) },
  { weight: 1, arbitrary: include.map(({ text, path }) => ({ text, entry: null, path })) },
);

const blankLine = padding.map((text): Line => ({ text, entries: [], includes: [], tags: [] }));
const commentLine = fc
  .tuple(padding, commentText)
  .map(([pad, text]): Line => ({ text: `${pad}#${text}`, entries: [], includes: [], tags: [] }));
const itemsLine = fc
  .record({
    items: fc.array(item, { minLength: 1, maxLength: 3 }),
    joiners: fc.array(
      fc.tuple(padding, padding).map(([a, b]) => `${a};${b}`),
      { minLength: 3, maxLength: 3 },
    ),
    lead: fc.constantFrom("", " ", "\t", ";", " ; "),
    tail: fc.constantFrom("", " ", ";", " ;; "),
    comment: fc.option(
      commentText.map((text) => ` #${text}`),
      { nil: "" },
    ),
  })
  .map(({ items, joiners, lead, tail, comment }): Line => {
    const body = items.map((it, index) => (index === 0 ? it.text : joiners[index - 1] + it.text)).join("");
    return {
      text: lead + body + tail + comment,
      entries: items.flatMap((it) => (it.entry ? [it.entry] : [])),
      includes: items.flatMap((it) => (it.path !== null ? [it.path] : [])),
      tags: [],
    };
  });
const taggedName = word(/^t[a-z0-9-]{0,5}$/);
const taggedLine = fc.tuple(machineEntry, taggedName, fc.boolean()).map(([entry, name, disabled]): Line => {
  const line = `${formatEntry(entry)} # crossnix:${name}`;
  return disabled
    ? { text: `# crossnix-disabled: ${line}`, entries: [], includes: [], tags: [name] }
    : { text: line, entries: [entry], includes: [], tags: [name] };
});

const anyLine = fc.oneof(blankLine, commentLine, itemsLine, itemsLine, taggedLine);

/** A valid machines file and what Nix reads from it. */
const machinesText = fc
  .record({
    lines: fc.array(fc.tuple(anyLine, fc.constantFrom("\n", "\n", "\r\n")), { maxLength: 10 }),
    finalNewline: fc.boolean(),
  })
  .map(({ lines, finalNewline }) => {
    const text = lines
      .map(([line, eol], index) => (index < lines.length - 1 || finalNewline ? line.text + eol : line.text))
      .join("");
    return {
      text,
      entries: lines.flatMap(([line]) => line.entries),
      includes: lines.flatMap(([line]) => line.includes),
      tags: lines.flatMap(([line]) => line.tags),
    };
  });

const activeEntries = (text: string) =>
  listEntries(parseMachinesFile(text, "m"))
    .filter((located) => !located.disabled)
    .map((located) => located.entry);

describe("machines file properties", () => {
  it("generated valid files round-trip byte-exactly and read as generated", () => {
    fc.assert(
      fc.property(machinesText, ({ text, entries, includes }) => {
        const file = parseMachinesFile(text, "machines");
        expect(renderMachinesFile(file)).toBe(text);
        expect(activeEntries(text)).toEqual(entries);
        expect(listIncludes(file).map((found) => found.path)).toEqual(includes);
      }),
      RUNS,
    );
  });

  it("any string either parses and round-trips exactly, or throws a PARSE CrossnixError", () => {
    const nearGrammar = fc.string({
      unit: fc.constantFrom(
        "a",
        "b",
        "-",
        "0",
        "1",
        ".",
        "e",
        " ",
        "\t",
        ";",
        "#",
        "@",
        "\n",
        "\r",
        "=",
        "!",
        ",",
        "/",
        "+",
        "\v",
      ),
      maxLength: 80,
    });
    // Whole rows of plausible and broken field values, so every error path is reached.
    const fieldValue = fc.constantFrom(
      "-",
      "a",
      "x86_64-linux",
      "/k",
      "8",
      "-1",
      "eight",
      "4294967296",
      "+2",
      "0",
      "2.5",
      "-3",
      "1e",
      "inf",
      "nan",
      "kvm",
      "QUJD",
      "c3No!",
      "=",
      "",
    );
    const rows = fc
      .array(
        fc.tuple(
          fc.array(fieldValue, { minLength: 1, maxLength: 10 }),
          separator,
          fc.constantFrom("\n", ";", " # ", "\r\n"),
        ),
        { maxLength: 4 },
      )
      .map((lines) => lines.map(([fields, sep, end]) => fields.join(sep) + end).join(""));
    const anything = fc.oneof(nearGrammar, rows, fc.string({ unit: "binary", maxLength: 60 }));
    fc.assert(
      fc.property(anything, (text) => {
        for (const parse of [
          () => expect(renderMachinesFile(parseMachinesFile(text, "m"))).toBe(text),
          () => parseBuildersValue(text, "builders"),
        ]) {
          try {
            parse();
          } catch (error) {
            expect(error).toBeInstanceOf(CrossnixError);
            expect((error as CrossnixError).code).toBe("PARSE");
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it("formatEntry writes what the parser reads back", () => {
    fc.assert(
      fc.property(machineEntry, (entry) => {
        expect(activeEntries(formatEntry(entry))).toEqual([entry]);
      }),
      RUNS,
    );
  });

  it("addEntry then removeEntry gives back the original bytes", () => {
    const newlineTerminated = machinesText.map(({ text }) => (text === "" || text.endsWith("\n") ? text : `${text}\n`));
    fc.assert(
      fc.property(newlineTerminated, machineEntry, word(/^n[a-z0-9._-]{0,8}$/), (text, entry, name) => {
        const added = addEntry(parseMachinesFile(text, "m"), entry, name);
        const rendered = renderMachinesFile(added);
        expect(rendered.startsWith(text)).toBe(true);
        expect(
          listEntries(added)
            .filter((located) => located.name === name)
            .map((located) => located.entry),
        ).toEqual([entry]);
        expect(renderMachinesFile(removeEntry(added, name))).toBe(text);
      }),
      RUNS,
    );
  });

  it("addEntry with an existing name rewrites only that line", () => {
    fc.assert(
      fc.property(machinesText, machineEntry, (generated, entry) => {
        fc.pre(generated.tags.length > 0);
        const name = generated.tags[0]!;
        const before = parseMachinesFile(generated.text, "m");
        const after = addEntry(before, entry, name);
        const changed = before.lines.flatMap((line, index) => (line.raw === after.lines[index]?.raw ? [] : [index]));
        const duplicates = generated.tags.filter((tag) => tag === name).length;
        expect(after.lines.length).toBe(before.lines.length - (duplicates - 1));
        if (duplicates === 1) expect(changed.length).toBe(1);
      }),
      RUNS,
    );
  });

  it("disable then enable gives back the original bytes, and each is idempotent", () => {
    const withTarget = fc
      .tuple(machinesText, machineEntry, fc.nat(), fc.constantFrom("\n", "\r\n", ""))
      .map(([generated, entry, at, eol]) => {
        const target = `${formatEntry(entry)} # crossnix:target${eol}`;
        const lines = generated.text.split(/(?<=\n)/);
        const position = at % (lines.length + 1);
        // An unterminated target line can only go last, after a terminated line.
        if (eol === "" && lines.length > 0 && !lines[lines.length - 1]!.endsWith("\n")) lines[lines.length - 1] += "\n";
        if (eol === "") lines.push(target);
        else lines.splice(Math.min(position, lines.filter((line) => line.endsWith("\n")).length), 0, target);
        return lines.join("");
      });
    fc.assert(
      fc.property(withTarget, (text) => {
        const file = parseMachinesFile(text, "m");
        const disabled = setEntryEnabled(file, "target", false);
        expect(renderMachinesFile(setEntryEnabled(disabled, "target", false))).toBe(renderMachinesFile(disabled));
        expect(listEntries(disabled).some((located) => located.name === "target" && !located.disabled)).toBe(false);
        const enabled = setEntryEnabled(disabled, "target", true);
        expect(renderMachinesFile(enabled)).toBe(text);
        expect(renderMachinesFile(setEntryEnabled(enabled, "target", true))).toBe(text);
      }),
      RUNS,
    );
  });
});
