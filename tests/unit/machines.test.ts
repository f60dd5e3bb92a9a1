// The machines-file grammar, its errors and store-URI normalisation (docs/nix-machines-file.md).
import { describe, expect, it } from "vitest";
import { CrossnixError } from "../../src/errors.js";
import {
  addEntry,
  decodeHostKey,
  effectiveMaxJobs,
  effectiveSpeedFactor,
  encodeHostKey,
  ensureBuildersIncludes,
  formatEntry,
  isKnownSystem,
  listEntries,
  listIncludes,
  looksLikeSystem,
  type MachineEntry,
  normalizeStoreUri,
  parseBuildersValue,
  parseMachinesFile,
  removeEntry,
  renderMachinesFile,
  sameHostKey,
  setEntryEnabled,
} from "../../src/core/formats/machines/index.js";

// A real ed25519 public key (its private half was thrown away).
const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFG2rfbTN6ZAkuwmU046FCNhO74yL9UHwCDWcZ1v/0SP";
const PUBLIC_KEY_LINE = `${PUBLIC_KEY} root@builder`;
/** `base64 -w0 key.pub`, as the Nix manual says: comment and newline included. */
const MANUAL_HOST_KEY =
  "c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUZHMnJmYlRONlpBa3V3bVUwNDZGQ05oTzc0eUw5VUh3Q0RXY1oxdi8wU1Agcm9vdEBidWlsZGVyCg==";
/** What crossnix writes: base64 of `type key` only. */
const HOST_KEY =
  "c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUZHMnJmYlRONlpBa3V3bVUwNDZGQ05oTzc0eUw5VUh3Q0RXY1oxdi8wU1A=";

const UNSET: MachineEntry = {
  uri: "",
  systems: [],
  sshKey: null,
  maxJobs: null,
  speedFactor: null,
  supportedFeatures: [],
  mandatoryFeatures: [],
  hostKey: null,
};
const entry = (fields: Partial<MachineEntry>): MachineEntry => ({ ...UNSET, ...fields });

function entriesOf(text: string) {
  return listEntries(parseMachinesFile(text, "machines")).map((located) => located.entry);
}

function parseFailure(
  text: string,
  parse: (t: string) => unknown = (t) => parseMachinesFile(t, "/etc/nix/machines"),
): CrossnixError {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(CrossnixError);
    return error as CrossnixError;
  }
  throw new Error(`expected a parse error for ${JSON.stringify(text)}`);
}

describe("machines file grammar (docs/nix-machines-file.md)", () => {
  it("reads all eight columns, separated by spaces or tabs, and ignores tokens after the 8th", () => {
    const line = `ssh-ng://nix@mac\taarch64-linux,x86_64-linux  /root/.ssh/id_b 8 2.5 big-parallel,kvm benchmark ${HOST_KEY} surplus words`;
    expect(entriesOf(`${line}\n`)).toEqual([
      {
        uri: "ssh-ng://nix@mac",
        systems: ["aarch64-linux", "x86_64-linux"],
        sshKey: "/root/.ssh/id_b",
        maxJobs: 8,
        speedFactor: 2.5,
        supportedFeatures: ["big-parallel", "kvm"],
        mandatoryFeatures: ["benchmark"],
        hostKey: HOST_KEY,
      },
    ]);
  });

  it("treats '-' and absent fields as unset", () => {
    expect(entriesOf("nix@host - - 4\n")).toEqual([entry({ uri: "nix@host", maxJobs: 4 })]);
    expect(entriesOf("nix@host\n")).toEqual([entry({ uri: "nix@host" })]);
    expect(entriesOf("a - - - - - - -\n")).toEqual([entry({ uri: "a" })]);
  });

  it("drops everything after the first '#', including ';' (Nix >= 2.29)", () => {
    expect(entriesOf("# a whole-line comment\nhost1 x86_64-linux # trailing; host2\n#host3\n")).toEqual([
      entry({ uri: "host1", systems: ["x86_64-linux"] }),
    ]);
  });

  it("splits ';'-joined entries, trims them and skips blanks, with their columns", () => {
    const file = parseMachinesFile("\n  a x86_64-linux ;; \tb aarch64-linux;\n", "machines");
    expect(listEntries(file)).toEqual([
      {
        entry: entry({ uri: "a", systems: ["x86_64-linux"] }),
        line: 2,
        column: 3,
        raw: "a x86_64-linux",
        name: null,
        disabled: false,
      },
      {
        entry: entry({ uri: "b", systems: ["aarch64-linux"] }),
        line: 2,
        column: 22,
        raw: "b aarch64-linux",
        name: null,
        disabled: false,
      },
    ]);
  });

  it("lists '@' includes with trimmed paths, also inside ';'-joined lines", () => {
    const file = parseMachinesFile("@ /etc/nix/other  \nhost; @/etc/nix/more # why\n# @/commented\n", "machines");
    expect(listIncludes(file)).toEqual([
      { path: "/etc/nix/other", line: 1 },
      { path: "/etc/nix/more", line: 2 },
    ]);
    expect(entriesOf("@/x; host")).toEqual([entry({ uri: "host" })]);
  });

  it("reads CRLF lines without the '\\r' and keeps every byte", () => {
    const text = "a x86_64-linux\r\n\r\n# c\r\nb - - 2\r\n";
    expect(entriesOf(text)).toEqual([entry({ uri: "a", systems: ["x86_64-linux"] }), entry({ uri: "b", maxJobs: 2 })]);
    expect(renderMachinesFile(parseMachinesFile(text, "m"))).toBe(text);
  });

  it("renders byte-identically: tabs, odd spacing, trailing text, no final newline, empty file", () => {
    for (const text of ["", "\n", "\n\n", "a", "a\n  \t\n# x ; y\n\tb  - -\t3 ;c - - - - - - - extra tail", "@/x\n#"]) {
      expect(renderMachinesFile(parseMachinesFile(text, "m"))).toBe(text);
    }
  });

  it("drops empty pieces of comma lists like tokenizeString does", () => {
    expect(entriesOf("a x86_64-linux,,aarch64-linux, - - - ,kvm")[0]).toMatchObject({
      systems: ["x86_64-linux", "aarch64-linux"],
      supportedFeatures: ["kvm"],
    });
  });

  it("keeps the written numbers: 0 speed factor stays 0 (Nix uses 1), leading zeros and '+' pass", () => {
    const [zero, padded] = entriesOf("a - - 0 0\nb - - +007 1e1\n");
    expect(zero).toMatchObject({ maxJobs: 0, speedFactor: 0 });
    expect(effectiveSpeedFactor(zero!)).toBe(1);
    expect(effectiveMaxJobs(entry({ uri: "a" }))).toBe(1);
    expect(padded).toMatchObject({ maxJobs: 7, speedFactor: 10 });
  });

  it("accepts host keys the way Nix's decoder does: up to the first '=', any length", () => {
    expect(entriesOf("a - - - - - - QUJD=!!\n")[0]?.hostKey).toBe("QUJD=!!");
    expect(entriesOf("a - - - - - - QUJDR\n")[0]?.hostKey).toBe("QUJDR");
  });

  it("does not reject unknown systems (Nix does not)", () => {
    expect(entriesOf("a mips-plan9,whatever\n")[0]?.systems).toEqual(["mips-plan9", "whatever"]);
  });
});

describe("machines file errors name file:line:column and the offending text", () => {
  const cases: [string, string, string][] = [
    [
      "# ok\n  - x86_64-linux\n",
      "/etc/nix/machines:2:3: bad machine specification: store URL was not found at the first column of a row: '- x86_64-linux'",
      "- x86_64-linux",
    ],
    [
      "ssh://a x86_64-linux - eight\n",
      "/etc/nix/machines:1:24: bad machine specification: failed to convert column #3 to 'unsigned int': 'eight'",
      "eight",
    ],
    [
      "ok; ssh://a - - -1\n",
      "/etc/nix/machines:1:17: bad machine specification: failed to convert column #3 to 'unsigned int': '-1'",
      "-1",
    ],
    [
      "a - - 4294967296\n",
      "/etc/nix/machines:1:7: bad machine specification: failed to convert column #3 to 'unsigned int': '4294967296'",
      "4294967296",
    ],
    [
      "\n\na - - 1 fast\n",
      "/etc/nix/machines:3:9: bad machine specification: failed to convert column #4 to 'float': 'fast'",
      "fast",
    ],
    ["a - - 1 -3\n", "/etc/nix/machines:1:9: speed factor must be >= 0: '-3'", "-3"],
    [
      "a\tx86_64-linux - - - - - c3No!aA==\r\n",
      "/etc/nix/machines:1:26: bad machine specification: column #7 is not valid base64: invalid character in Base64 string: '!': 'c3No!aA=='",
      "c3No!aA==",
    ],
  ];

  it.each(cases)("%j", (text, message, offending) => {
    const error = parseFailure(text);
    expect(error.message).toBe(message);
    expect(error.code).toBe("PARSE");
    expect(error.exitCode).toBe(2);
    expect(error.detail).toMatchObject({ file: "/etc/nix/machines", text: offending });
    expect(error.hint).toBeTruthy();
  });

  it("ignores invalid entries that are commented out", () => {
    expect(entriesOf("# - - eight\n#a - - -1\n")).toEqual([]);
  });
});

describe("normalizeStoreUri", () => {
  it.each([
    ["nix@scratchy.labs.cs.uu.nl", "ssh://nix@scratchy.labs.cs.uu.nl"],
    ["nix@scratchy.labs.cs.uu.nl:2222", "ssh://nix@scratchy.labs.cs.uu.nl:2222"],
    ["localhost", "ssh://localhost"],
    ["ssh://a", "ssh://a"],
    [
      "ssh-ng://a?remote-program=/nix/var/nix/profiles/default/bin/nix-daemon",
      "ssh-ng://a?remote-program=/nix/var/nix/profiles/default/bin/nix-daemon",
    ],
    ["/some/local/store", "/some/local/store"],
    ["auto", "auto"],
    ["daemon", "daemon"],
    ["local", "local"],
    ["auto?root=/x", "auto?root=/x"],
    ["daemon?x=1", "daemon?x=1"],
    ["local?x=1", "local?x=1"],
    ["?root=x", "?root=x"],
    ["automatic", "ssh://automatic"],
  ])("%s -> %s", (uri, expected) => {
    expect(normalizeStoreUri(uri)).toBe(expected);
  });
});

describe("host keys (column 8)", () => {
  it("encodes `type key` without comment or newline, from a .pub line or an ssh-keyscan line", () => {
    expect(encodeHostKey(PUBLIC_KEY_LINE)).toBe(HOST_KEY);
    expect(encodeHostKey(`${PUBLIC_KEY_LINE}\n`)).toBe(HOST_KEY);
    expect(encodeHostKey(`builder.lan ${PUBLIC_KEY}`)).toBe(HOST_KEY);
  });

  it("decodes to the key line, dropping a trailing newline", () => {
    expect(decodeHostKey(HOST_KEY)).toBe(PUBLIC_KEY);
    expect(decodeHostKey(MANUAL_HOST_KEY)).toBe(PUBLIC_KEY_LINE);
    expect(sameHostKey(HOST_KEY, MANUAL_HOST_KEY)).toBe(true);
    expect(sameHostKey(HOST_KEY, encodeHostKey(PUBLIC_KEY.replace("0SP", "0SQ")))).toBe(false);
  });

  it("rejects invalid base64 and lines that are not public keys", () => {
    expect(() => decodeHostKey("c3No!")).toThrow("invalid character in Base64 string: '!'");
    expect(() => decodeHostKey("")).toThrow(CrossnixError);
    expect(() => encodeHostKey("hello world")).toThrow(CrossnixError);
    expect(() => encodeHostKey("ssh-ed25519")).toThrow(CrossnixError);
    // The blob says ssh-ed25519, the line says ssh-rsa.
    expect(() => encodeHostKey(`ssh-rsa ${PUBLIC_KEY.split(" ")[1]}`)).toThrow("not a 'ssh-rsa' key");
  });
});

describe("systems", () => {
  it("knows the common doubles and checks the shape of others", () => {
    expect(isKnownSystem("aarch64-linux")).toBe(true);
    expect(isKnownSystem("x86_64-freebsd")).toBe(true);
    expect(isKnownSystem("aarch64-linx")).toBe(false);
    expect(looksLikeSystem("wasm32-wasi")).toBe(true);
    expect(looksLikeSystem("x86_64")).toBe(false);
    expect(looksLikeSystem("x86_64-unknown-linux")).toBe(false);
  });
});

describe("formatEntry", () => {
  it("writes one space between fields, '-' for unset middle fields, and drops unset trailing ones", () => {
    expect(formatEntry(entry({ uri: "ssh-ng://b" }))).toBe("ssh-ng://b");
    expect(formatEntry(entry({ uri: "ssh-ng://b", systems: ["aarch64-linux", "x86_64-linux"], maxJobs: 4 }))).toBe(
      "ssh-ng://b aarch64-linux,x86_64-linux - 4",
    );
    expect(formatEntry(entry({ uri: "b", hostKey: HOST_KEY }))).toBe(`b - - - - - - ${HOST_KEY}`);
    expect(
      formatEntry({
        uri: "b",
        systems: ["x86_64-linux"],
        sshKey: "/k",
        maxJobs: 0,
        speedFactor: 1.5,
        supportedFeatures: ["kvm", "big-parallel"],
        mandatoryFeatures: ["benchmark"],
        hostKey: HOST_KEY,
      }),
    ).toBe(`b x86_64-linux /k 0 1.5 kvm,big-parallel benchmark ${HOST_KEY}`);
  });

  it.each<[Partial<MachineEntry>, string]>([
    [{ uri: "" }, "store URI"],
    [{ uri: "-" }, "store URI"],
    [{ uri: "@/etc/nix/machines" }, "store URI"],
    [{ uri: "a b" }, "store URI"],
    [{ uri: "a#b" }, "store URI"],
    [{ uri: "a", systems: ["linux"] }, "system"],
    [{ uri: "a", sshKey: "/my key" }, "ssh key path"],
    [{ uri: "a", sshKey: "" }, "ssh key path"],
    [{ uri: "a", maxJobs: 1.5 }, "max jobs"],
    [{ uri: "a", maxJobs: -1 }, "max jobs"],
    [{ uri: "a", speedFactor: -1 }, "speed factor"],
    [{ uri: "a", speedFactor: Number.POSITIVE_INFINITY }, "speed factor"],
    [{ uri: "a", supportedFeatures: ["a,b"] }, "feature"],
    [{ uri: "a", mandatoryFeatures: ["-"] }, "mandatory feature"],
    [{ uri: "a", hostKey: "c3No!" }, "host key"],
  ])("rejects %j (%s)", (fields, field) => {
    try {
      formatEntry(entry(fields));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CrossnixError);
      expect((error as CrossnixError).code).toBe("BAD_INPUT");
      expect((error as CrossnixError).detail?.["field"]).toBe(field);
    }
  });
});

const MESSY = [
  "# Builders for the lab. Do not edit by hand; or do.",
  "",
  "ssh://nix@scratchy.labs.cs.uu.nl\ti686-linux\t/home/nix/.ssh/id_scratchy\t8 1 kvm",
  "  nix@itchy i686-linux,x86_64-linux - 8 2 ; @/etc/nix/machines.d/more # joined",
  "@ /etc/nix/other",
  "ssh-ng://old - - - - - - - ignored tail",
  "",
].join("\n");

const BUILDER = entry({ uri: "ssh-ng://builder@lab", systems: ["aarch64-linux"], maxJobs: 4, hostKey: HOST_KEY });
const BUILDER_LINE = `ssh-ng://builder@lab aarch64-linux - 4 - - - ${HOST_KEY} # crossnix:lab`;

function edit(
  text: string,
  change: (file: ReturnType<typeof parseMachinesFile>) => ReturnType<typeof parseMachinesFile>,
) {
  return renderMachinesFile(change(parseMachinesFile(text, "/etc/nix/machines")));
}

describe("addEntry", () => {
  it("appends a tagged line and leaves every other byte alone", () => {
    const after = edit(MESSY, (f) => addEntry(f, BUILDER, "lab"));
    expect(after).toBe(`${MESSY}${BUILDER_LINE}\n`);
    const located = listEntries(parseMachinesFile(after, "m")).at(-1);
    expect(located).toMatchObject({ entry: BUILDER, name: "lab", disabled: false, line: 7, column: 1 });
  });

  it("ends an unterminated last line first, and follows CRLF files", () => {
    expect(edit("a\n# last", (f) => addEntry(f, BUILDER, "lab"))).toBe(`a\n# last\n${BUILDER_LINE}\n`);
    expect(edit("", (f) => addEntry(f, BUILDER, "lab"))).toBe(`${BUILDER_LINE}\n`);
    expect(edit("a\r\nb", (f) => addEntry(f, BUILDER, "lab"))).toBe(`a\r\nb\r\n${BUILDER_LINE}\r\n`);
  });

  it("replaces only the line that carries the name, in place", () => {
    const before = `${MESSY}old-lab x86_64-linux # crossnix:lab\r\nssh://mine x86_64-linux # my own\n`;
    const after = edit(before, (f) => addEntry(f, BUILDER, "lab"));
    expect(after).toBe(`${MESSY}${BUILDER_LINE}\r\nssh://mine x86_64-linux # my own\n`);
  });

  it("replaces a disabled line by the new, enabled entry and drops duplicate names", () => {
    const before = "# crossnix-disabled: a # crossnix:lab\nb\nc # crossnix:lab\n";
    expect(edit(before, (f) => addEntry(f, BUILDER, "lab"))).toBe(`${BUILDER_LINE}\nb\n`);
  });

  it("never takes over untagged lines or look-alike comments", () => {
    const before = "# crossnix:lab\nx # crossnix:lab (mine)\ny #crossnix:lab2\n";
    expect(edit(before, (f) => addEntry(f, BUILDER, "lab"))).toBe(`${before}${BUILDER_LINE}\n`);
  });

  it("rejects names that cannot be a tag", () => {
    const file = parseMachinesFile("", "m");
    for (const name of ["", "a b", "a#b", "-lab", "a;b", "x".repeat(64)]) {
      expect(() => addEntry(file, BUILDER, name)).toThrow(CrossnixError);
    }
  });
});

describe("removeEntry", () => {
  it("removes only lines tagged with that name, enabled or disabled", () => {
    const before = `${MESSY}${BUILDER_LINE}\n${BUILDER_LINE.replace("crossnix:lab", "crossnix:other")}\nssh-ng://builder@lab aarch64-linux\n`;
    const after = edit(before, (f) => removeEntry(f, "lab"));
    expect(after).toBe(
      `${MESSY}${BUILDER_LINE.replace("crossnix:lab", "crossnix:other")}\nssh-ng://builder@lab aarch64-linux\n`,
    );
    const disabled = edit(`a\n# crossnix-disabled: ${BUILDER_LINE}\nb`, (f) => removeEntry(f, "lab"));
    expect(disabled).toBe("a\nb");
  });

  it("reports an unknown name with the names crossnix manages", () => {
    const file = parseMachinesFile(`x\n${BUILDER_LINE}\n`, "/etc/nix/machines");
    expect(() => removeEntry(file, "nope")).toThrow("no builder named 'nope' in /etc/nix/machines");
    try {
      removeEntry(file, "nope");
    } catch (error) {
      expect((error as CrossnixError).code).toBe("NOT_FOUND");
      expect((error as CrossnixError).hint).toContain("lab");
    }
  });
});

describe("setEntryEnabled", () => {
  const before = `${MESSY}${BUILDER_LINE}\r\nz # crossnix:zed`;

  it("comments the line out behind a marker; Nix no longer reads it, crossnix still lists it", () => {
    const disabled = edit(before, (f) => setEntryEnabled(f, "lab", false));
    expect(disabled).toBe(`${MESSY}# crossnix-disabled: ${BUILDER_LINE}\r\nz # crossnix:zed`);
    const file = parseMachinesFile(disabled, "m");
    expect(file.lines[6]?.items).toEqual([]);
    expect(listEntries(file).filter((l) => l.name === "lab")).toEqual([
      {
        entry: BUILDER,
        line: 7,
        column: 22,
        raw: BUILDER_LINE.slice(0, BUILDER_LINE.indexOf(" #")),
        name: "lab",
        disabled: true,
      },
    ]);
  });

  it("restores the exact original line, and both directions are idempotent", () => {
    const disabled = edit(before, (f) => setEntryEnabled(setEntryEnabled(f, "lab", false), "lab", false));
    expect(disabled).toBe(edit(before, (f) => setEntryEnabled(f, "lab", false)));
    expect(edit(disabled, (f) => setEntryEnabled(f, "lab", true))).toBe(before);
    expect(edit(before, (f) => setEntryEnabled(f, "lab", true))).toBe(before);
    expect(edit(before, (f) => setEntryEnabled(f, "zed", false))).toBe(
      `${MESSY}${BUILDER_LINE}\r\n# crossnix-disabled: z # crossnix:zed`,
    );
  });

  it("treats a marker line that does not hold a valid tagged entry as a plain comment", () => {
    const text = "# crossnix-disabled: a - - eight # crossnix:lab\n# crossnix-disabled: b\n";
    const file = parseMachinesFile(text, "m");
    expect(listEntries(file)).toEqual([]);
    expect(() => setEntryEnabled(file, "lab", true)).toThrow(CrossnixError);
  });
});

describe("builders setting value", () => {
  it("reads '@file' items and inline specs separated by ';' or newlines", () => {
    expect(
      parseBuildersValue("@/etc/nix/machines ; ssh://a x86_64-linux - 2\n @ /b # note; ssh://c", "builders"),
    ).toEqual([
      { kind: "file", path: "/etc/nix/machines" },
      {
        kind: "inline",
        entry: entry({ uri: "ssh://a", systems: ["x86_64-linux"], maxJobs: 2 }),
        raw: "ssh://a x86_64-linux - 2",
      },
      { kind: "file", path: "/b" },
    ]);
    expect(parseBuildersValue("", "builders")).toEqual([]);
  });

  it("locates errors inside the value", () => {
    const error = parseFailure("@/m ; ssh://a - - x", (v) => parseBuildersValue(v, "/etc/nix/nix.conf:3 builders"));
    expect(error.message).toBe(
      "/etc/nix/nix.conf:3 builders:1:19: bad machine specification: failed to convert column #3 to 'unsigned int': 'x'",
    );
  });

  it("includes the machines file exactly once and keeps the other items in order", () => {
    const path = "/etc/nix/machines";
    expect(ensureBuildersIncludes(null, path)).toBe("@/etc/nix/machines");
    expect(ensureBuildersIncludes("", path)).toBe("@/etc/nix/machines");
    expect(ensureBuildersIncludes("  ;  ", path)).toBe("@/etc/nix/machines");
    // The '@' follows the ';' directly: Nix before 2.29 does not trim before looking for '@'.
    expect(ensureBuildersIncludes("ssh://a x86_64-linux", path)).toBe("ssh://a x86_64-linux ;@/etc/nix/machines");
    expect(ensureBuildersIncludes("@/other ; ", path)).toBe("@/other ;@/etc/nix/machines");
    expect(ensureBuildersIncludes("ssh://a # note", path)).toBe("ssh://a # note\n@/etc/nix/machines");
    expect(ensureBuildersIncludes("ssh://a;@ /etc/nix/machines ", path)).toBe("ssh://a;@ /etc/nix/machines ");
    expect(ensureBuildersIncludes("@/etc/nix/machines;a;@/etc/nix/machines;b", path)).toBe("@/etc/nix/machines ;a ;b");
    expect(ensureBuildersIncludes("@/etc/nix/machines.d/x", path)).toBe("@/etc/nix/machines.d/x ;@/etc/nix/machines");
  });

  it("rejects a machines path Nix would misread", () => {
    for (const path of ["machines", "/a;b", "/a#b", "/a\nb", "/a "]) {
      expect(() => ensureBuildersIncludes(null, path)).toThrow(CrossnixError);
    }
  });
});
