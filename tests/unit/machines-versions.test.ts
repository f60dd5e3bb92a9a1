// How each Nix version reads a machines file, case by case. The cases restate, in our own words,
// the rules of Nix's parser (src/libstore/machines.cc at tags 2.3, 2.4, 2.5.0, 2.20.0, 2.23.0,
// 2.29.0) and its unit tests (src/libstore-tests/machines.cc at 2.35.0); see
// docs/nix-machines-file.md. The real Nix 2.8 on this machine checks the 2.5–2.19 column in
// machines-oracle.test.ts.
import { describe, expect, it } from "vitest";
import {
  ensureBuildersIncludes,
  listEntries,
  listIncludes,
  machinesDialect,
  normalizeStoreUri,
  parseMachinesFile,
  speedFactorRefusal,
} from "../../src/core/formats/machines/index.js";
import { CrossnixError } from "../../src/errors.js";

/** One representative version per rule set, oldest first. */
const VERSIONS = ["2.3.18", "2.4", "2.8.0", "2.19.0", "2.20.0", "2.28.0", "2.29.0", "2.35.2"] as const;
type Version = (typeof VERSIONS)[number];

interface Read {
  uri: string;
  maxJobs?: number | null;
  speedFactor?: number | null;
  hostKey?: string | null;
}
/** What a version makes of a text: entries and includes, or the start of the error. */
type Outcome = { entries: Read[]; includes?: string[] } | { error: RegExp };

function read(text: string, version: string): Outcome {
  try {
    const file = parseMachinesFile(text, "/m", machinesDialect(version));
    const entries = listEntries(file).map(({ entry }) => ({
      uri: entry.uri,
      maxJobs: entry.maxJobs,
      speedFactor: entry.speedFactor,
      hostKey: entry.hostKey,
    }));
    return { entries, includes: listIncludes(file).map((i) => i.path) };
  } catch (error) {
    if (error instanceof CrossnixError && error.code === "PARSE")
      return { error: new RegExp(error.message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) };
    throw error;
  }
}

/** Expected outcome per version range: keys are the first version of a range, in VERSIONS. */
type Expect = Partial<Record<Version, Outcome>>;

function expected(table: Expect, version: Version): Outcome {
  let current: Outcome | undefined;
  for (const v of VERSIONS) {
    if (table[v] !== undefined) current = table[v];
    if (v === version) break;
  }
  if (current === undefined) throw new Error(`no expectation for ${version}`);
  return current;
}

function check(text: string, version: Version, want: Outcome): void {
  const got = read(text, version);
  if ("error" in want) {
    expect("error" in got ? got.error.source : JSON.stringify(got), `${version}: ${JSON.stringify(text)}`).toMatch(
      want.error,
    );
    return;
  }
  expect(got, `${version}: ${JSON.stringify(text)}`).not.toHaveProperty("error");
  if ("error" in got) return;
  expect(
    got.entries.map((e) => pick(e, want.entries[0] ?? { uri: "" })),
    `${version}: ${JSON.stringify(text)}`,
  ).toEqual(want.entries);
  if (want.includes) expect(got.includes).toEqual(want.includes);
}

function pick(read: Read, like: Read): Read {
  return Object.fromEntries(Object.keys(like).map((k) => [k, read[k as keyof Read]])) as unknown as Read;
}

const BAD_SPEC_NO_URI = /store URL was not found|bad machine specification/;
const CASES: { name: string; text: string; table: Expect }[] = [
  {
    name: "a plain full line",
    text: "nix@scratchy i686-linux /k 8 3 kvm benchmark\n",
    table: { "2.3.18": { entries: [{ uri: "nix@scratchy", maxJobs: 8, speedFactor: 3 }] } },
  },
  {
    name: "a fractional speed factor: stoull keeps the whole part, 2.5–2.19 reject it, 2.20 reads a float",
    text: "h x86_64-linux - 2 2.5\n",
    table: {
      "2.3.18": { entries: [{ uri: "h", speedFactor: 2 }] },
      "2.8.0": { error: /column #4 to 'unsigned int'/ },
      "2.20.0": { entries: [{ uri: "h", speedFactor: 2.5 }] },
    },
  },
  {
    name: "a negative speed factor wraps around in stoull, fails the unsigned parse, then the >= 0 check",
    text: "h - - 8 -3\n",
    table: {
      "2.3.18": { entries: [{ uri: "h", speedFactor: 4294967293 }] },
      "2.8.0": { error: /column #4 to 'unsigned int'/ },
      "2.20.0": { error: /speed factor must be >= 0/ },
    },
  },
  {
    name: "a word for max jobs (Nix's own test: 'eight')",
    text: "nix@scratchy - - eight\n",
    table: { "2.3.18": { error: /stoull/ }, "2.8.0": { error: /column #3 to 'unsigned int'/ } },
  },
  {
    name: "max jobs -1 (Nix's own test) and a number with a tail",
    text: "a - - -1\nb - - 8x\n",
    table: {
      "2.3.18": {
        entries: [
          { uri: "a", maxJobs: 4294967295 },
          { uri: "b", maxJobs: 8 },
        ],
      },
      "2.8.0": { error: /column #3 to 'unsigned int'/ },
    },
  },
  {
    name: "a leading '+' passes boost::lexical_cast",
    text: "h - - +2 +3\n",
    table: { "2.3.18": { entries: [{ uri: "h", maxJobs: 2, speedFactor: 3 }] } },
  },
  {
    name: "an indented comment is a whitespace-only entry before 2.29",
    text: "  # spare builder\nh x86_64-linux\n",
    table: { "2.3.18": { error: BAD_SPEC_NO_URI }, "2.29.0": { entries: [{ uri: "h" }] } },
  },
  {
    name: "'; ;' holds whitespace-only entries",
    text: "h ; ; \n",
    table: { "2.3.18": { error: BAD_SPEC_NO_URI }, "2.29.0": { entries: [{ uri: "h" }] } },
  },
  {
    name: "an empty piece between two ';' vanishes in every version",
    text: "a;;b\n",
    table: { "2.3.18": { entries: [{ uri: "a" }, { uri: "b" }] } },
  },
  {
    name: "a blank CRLF line is a lone '\\r', whitespace-only before 2.29",
    text: "a\r\n\r\nb\r\n",
    table: { "2.3.18": { error: BAD_SPEC_NO_URI }, "2.29.0": { entries: [{ uri: "a" }, { uri: "b" }] } },
  },
  {
    name: "';' after '#': the piece after it is a builder before 2.29",
    text: "a x86_64-linux # old box ; b aarch64-linux\n",
    table: { "2.3.18": { entries: [{ uri: "a" }, { uri: "b" }] }, "2.29.0": { entries: [{ uri: "a" }] } },
  },
  {
    name: "Nix's test getMachinesWithCommentsAndSemicolonSeparator",
    text: "# This is a comment ; this is still that comment\nnix@scratchy ; nix@itchy\n# This is also a comment ; this also is still that comment\nnix@scabby\n",
    // Before 2.29 the text after ';' is a machine "this is still that comment": 'that' is max jobs.
    table: {
      "2.3.18": { error: /column #3 .*stoull.*'that'/ },
      "2.8.0": { error: /column #3 to 'unsigned int'.*'that'/ },
      "2.29.0": { entries: [{ uri: "nix@scratchy" }, { uri: "nix@itchy" }, { uri: "nix@scabby" }] },
    },
  },
  {
    name: "Nix's test getMachinesWithFunnyWhitespace",
    text: "        # comment ; comment\n   nix@scratchy ; nix@itchy   \n\n    \n\n ;;; \n\n ; ; \nnix@scabby\n\n",
    table: {
      "2.3.18": { error: BAD_SPEC_NO_URI },
      "2.29.0": { entries: [{ uri: "nix@scratchy" }, { uri: "nix@itchy" }, { uri: "nix@scabby" }] },
    },
  },
  {
    name: "' @file' is a machine named '@file' until 2.29 trims before looking for '@'",
    text: "a ; @/etc/nix/more\n @/etc/nix/other\n@/etc/nix/third\n",
    table: {
      "2.3.18": {
        entries: [{ uri: "a" }, { uri: "@/etc/nix/more" }, { uri: "@/etc/nix/other" }],
        includes: ["/etc/nix/third"],
      },
      "2.29.0": { entries: [{ uri: "a" }], includes: ["/etc/nix/more", "/etc/nix/other", "/etc/nix/third"] },
    },
  },
  {
    name: "column #7 is checked as base64 from 2.5 (Nix's test: BAD_BASE64)",
    text: "nix@scratchy - - 8 3 - - BAD_BASE64\n",
    table: {
      "2.3.18": { entries: [{ uri: "nix@scratchy", hostKey: "BAD_BASE64" }] },
      "2.8.0": { error: /invalid character in Base64 string: '_'/ },
    },
  },
  {
    name: "a '-' in the URI column: the URI itself before 2.5, 'not found' after",
    text: "- x86_64-linux\n",
    table: { "2.3.18": { entries: [{ uri: "-" }] }, "2.8.0": { error: /store URL was not found/ } },
  },
  {
    name: "a speed factor of 0 is read as 0 (Nix then uses 1) in every version",
    text: "h - - 1 0\n",
    table: { "2.3.18": { entries: [{ uri: "h", speedFactor: 0 }] } },
  },
];

describe("machines files, version by version (docs/nix-machines-file.md#versions)", () => {
  for (const { name, text, table } of CASES) {
    it(name, () => {
      for (const version of VERSIONS) check(text, version, expected(table, version));
    });
  }

  it("the version picks the rules; Determinate Nix goes by its upstream version; unknown means newest", () => {
    expect(machinesDialect("2.3.18").since).toBe("2.3");
    expect(machinesDialect("2.4").since).toBe("2.4");
    expect(machinesDialect("2.8.0").since).toBe("2.5");
    expect(machinesDialect("2.19.7").since).toBe("2.5");
    expect(machinesDialect("2.20.0pre20240101").since).toBe("2.20");
    expect(machinesDialect("2.28.4").since).toBe("2.20");
    expect(machinesDialect("2.29.0").since).toBe("2.29");
    expect(machinesDialect("2.31.1").since).toBe("2.29");
    expect(machinesDialect(null).since).toBe("2.29");
  });

  it("store URI: 2.3 keeps local*/remote*/auto*/ and '/' prefixes; 2.4 keeps exact words and any '/'", () => {
    const old = machinesDialect("2.3.18");
    const now = machinesDialect("2.35.2");
    const table: [string, string, string][] = [
      ["nix@host", "ssh://nix@host", "ssh://nix@host"],
      ["nix@host:2222", "ssh://nix@host:2222", "ssh://nix@host:2222"],
      ["localhost", "localhost", "ssh://localhost"],
      ["remote-box", "remote-box", "ssh://remote-box"],
      ["daemon", "ssh://daemon", "daemon"],
      ["a/b", "ssh://a/b", "a/b"],
      ["ssh-ng://b", "ssh-ng://b", "ssh-ng://b"],
      ["?root=/x", "ssh://?root=/x", "?root=/x"],
    ];
    for (const [uri, in23, inNow] of table) {
      expect(normalizeStoreUri(uri, old), uri).toBe(in23);
      expect(normalizeStoreUri(uri, now), uri).toBe(inNow);
    }
  });

  it("round trip stays byte-exact under every version's rules", () => {
    const text = "a x86_64-linux # c ; b\r\n@/x\n\n# crossnix-disabled: c - - 1 # crossnix:c\n";
    for (const version of VERSIONS) {
      const file = parseMachinesFile(text, "/m", machinesDialect(version));
      expect(file.lines.map((l) => l.raw + l.eol).join("")).toBe(text);
    }
  });
});

describe("speed factors crossnix may write (docs/nix-machines-file.md#speed-factor)", () => {
  it("before 2.20 only whole numbers, with the nearest whole number (at least 1) offered", () => {
    expect(speedFactorRefusal(2.5, machinesDialect("2.8.0"), "2.8.0")).toMatchObject({ nearest: 3 });
    expect(speedFactorRefusal(2.5, machinesDialect("2.8.0"), "2.8.0")?.why).toMatch(
      /Nix 2\.8\.0 .*rejects it.*2\.20 or later.*nearest valid value is 3/,
    );
    expect(speedFactorRefusal(0.3, machinesDialect("2.19.0"), "2.19.0")).toMatchObject({ nearest: 1 });
    expect(speedFactorRefusal(1.4, machinesDialect("2.3.18"), "2.3.18")?.why).toMatch(/silently read 1\.4 as 1/);
    expect(speedFactorRefusal(2, machinesDialect("2.8.0"), "2.8.0")).toBeNull();
    expect(speedFactorRefusal(2.5, machinesDialect("2.20.0"), "2.20.0")).toBeNull();
    expect(speedFactorRefusal(2.5, machinesDialect(null), null)).toBeNull();
  });

  it("a rejected fractional speed factor names the nearest valid value and the version that reads it", () => {
    const error = read("h - - 1 2.5\n", "2.8.0");
    expect(error).toHaveProperty("error");
    try {
      parseMachinesFile("h - - 1 2.5\n", "/m", machinesDialect("2.8.0"));
    } catch (e) {
      expect((e as CrossnixError).hint).toMatch(/Nix 2\.20 and later accept '2\.5'.*nearest whole number is 3/);
    }
  });
});

describe("builders value written for old Nix (docs/nix-machines-file.md#includes)", () => {
  const path = "/etc/nix/machines";
  it("a ' @file' item is no include before 2.29: the value is rebuilt with '@' right after ';'", () => {
    const old = machinesDialect("2.8.0");
    expect(ensureBuildersIncludes("ssh://a x86_64-linux ; @/etc/nix/machines", path, old)).toBe(
      "ssh://a x86_64-linux ;@/etc/nix/machines",
    );
    expect(ensureBuildersIncludes("ssh://a x86_64-linux ; @/etc/nix/machines", path)).toBe(
      "ssh://a x86_64-linux ; @/etc/nix/machines",
    );
    expect(ensureBuildersIncludes("@/etc/nix/machines ; b", path, old)).toBe("@/etc/nix/machines ; b");
  });

  it("what crossnix appends is an include under every version's rules", () => {
    for (const version of VERSIONS) {
      const dialect = machinesDialect(version);
      const value = ensureBuildersIncludes("ssh://a x86_64-linux", path, dialect);
      const file = parseMachinesFile(value, "builders", dialect);
      expect(
        listIncludes(file).map((i) => i.path),
        version,
      ).toEqual([path]);
      expect(
        listEntries(file).map((e) => e.entry.uri),
        version,
      ).toEqual(["ssh://a"]);
    }
  });
});
