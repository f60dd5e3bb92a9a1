// The ssh_config model: parsing, alias blocks, upsert and remove.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  aliasesMatching,
  findHostBlock,
  listHostBlocks,
  listIncludes,
  parseSshConfig,
  removeHostBlock,
  renderAliasBlock,
  renderSshConfig,
  type SshConfig,
  upsertHostBlock,
} from "../../src/core/formats/ssh-config.js";
import { type CrossnixError, isCrossnixError } from "../../src/errors.js";

const MARKER = "# managed by crossnix";
const parse = (text: string) => parseSshConfig(text, "crossnix.conf");
const upsert = (text: string, alias: string, options: [string, string][]) =>
  renderSshConfig(upsertHostBlock(parse(text), alias, options, MARKER));
const remove = (text: string, alias: string) => renderSshConfig(removeHostBlock(parse(text), alias, MARKER));

function caught(fn: () => unknown): CrossnixError {
  try {
    fn();
  } catch (e) {
    if (isCrossnixError(e)) return e;
    throw e;
  }
  throw new Error("expected a CrossnixError");
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "crossnix-ssh-config-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Whether the real ssh accepts `text` as a config file. */
function sshAccepts(text: string): boolean {
  const file = path.join(dir, "probe.conf");
  writeFileSync(file, text);
  return spawnSync("ssh", ["-G", "-F", file, "probe-host"], { stdio: "pipe" }).status === 0;
}

/** The options the real ssh resolves for `host` from `text` (`ssh -G`). */
function sshResolve(text: string, host: string): Map<string, string[]> {
  const file = path.join(dir, "resolve.conf");
  writeFileSync(file, text);
  const out = execFileSync("ssh", ["-G", "-F", file, host], { encoding: "utf8", stdio: "pipe" });
  const options = new Map<string, string[]>();
  for (const line of out.split("\n")) {
    const at = line.indexOf(" ");
    if (at > 0) options.set(line.slice(0, at), [...(options.get(line.slice(0, at)) ?? []), line.slice(at + 1)]);
  }
  return options;
}

describe("parsing", () => {
  it("reads every directive form the way ssh does", () => {
    const text = [
      "# global",
      "Include ~/.ssh/conf.d/*",
      "",
      "Host builder b2 !skip",
      "    HostName 127.0.10.2",
      "\tPort=2222",
      "  User = nix # trailing comment",
      '  IdentityFile "/keys/with space/id"',
      "  ProxyCommand ssh -W %h:%p jump # kept: handed to a shell",
      "  HostKeyAlias 'quoted alias'",
      "Match host *.lan exec true",
      "  User lan",
      "host lower",
      "  hostname=x",
    ].join("\n");
    const c = parse(text);
    expect(renderSshConfig(c)).toBe(text);
    const d = c.lines.map((l) => l.directive && [l.directive.key, l.directive.args, l.directive.value]);
    expect(d).toEqual([
      null,
      ["include", ["~/.ssh/conf.d/*"], "~/.ssh/conf.d/*"],
      null,
      ["host", ["builder", "b2", "!skip"], "builder b2 !skip"],
      ["hostname", ["127.0.10.2"], "127.0.10.2"],
      ["port", ["2222"], "2222"],
      ["user", ["nix"], "nix"],
      ["identityfile", ["/keys/with space/id"], "/keys/with space/id"],
      ["proxycommand", ["ssh", "-W", "%h:%p", "jump"], "ssh -W %h:%p jump # kept: handed to a shell"],
      ["hostkeyalias", ["quoted alias"], "quoted alias"],
      ["match", ["host", "*.lan", "exec", "true"], "host *.lan exec true"],
      ["user", ["lan"], "lan"],
      ["host", ["lower"], "lower"],
      ["hostname", ["x"], "x"],
    ]);
  });

  it("lists Host blocks (a block runs until the next Host or Match)", () => {
    const text = [
      "Port 22",
      "Host a",
      "  # managed by crossnix",
      "  HostName a.example",
      "",
      "Match all",
      "  User m",
      "Host b c",
      "  User b",
      "  # managed by someone-else",
    ].join("\n");
    expect(listHostBlocks(parse(text))).toEqual([
      {
        patterns: ["a"],
        line: 2,
        options: [{ key: "HostName", value: "a.example", args: ["a.example"], line: 4 }],
        managedBy: "crossnix",
      },
      {
        patterns: ["b", "c"],
        line: 8,
        options: [{ key: "User", value: "b", args: ["b"], line: 9 }],
        managedBy: "someone-else",
      },
    ]);
    expect(findHostBlock(parse(text), "a")?.line).toBe(2);
    // Only an exact single-pattern block counts.
    expect(findHostBlock(parse(text), "b")).toBeUndefined();
    expect(findHostBlock(parse(text), "zzz")).toBeUndefined();
  });

  it("lists Include directives with the block they sit in", () => {
    const c = parse("Include a b\nHost x\n  Include c\nMatch all\n  Include d\n");
    expect(listIncludes(c)).toEqual([
      { paths: ["a", "b"], line: 1, conditional: null },
      { paths: ["c"], line: 3, conditional: ["x"] },
      { paths: ["d"], line: 5, conditional: ["all"] },
    ]);
  });

  it("keeps CRLF, tabs, trailing spaces and a missing final newline byte for byte", () => {
    for (const text of [
      "",
      "\n",
      "\r\n",
      "Host a\r\n\tPort 1\r\n",
      "Host a\n  Port 1",
      "  \t\n#x\t \nPort 2  \t",
      "\n\n\n",
    ]) {
      expect(renderSshConfig(parse(text))).toBe(text);
    }
    expect(parse("Host a\r\nPort 2\r\n").lines[1]!.directive!.args).toEqual(["2"]);
  });

  it("reports lines ssh rejects as PARSE errors with file:line:column", () => {
    const e = caught(() => parse("Host a\n  Port\n"));
    expect(e.code).toBe("PARSE");
    expect(e.message).toBe("crossnix.conf:2:3: no argument after keyword 'Port': '  Port'");
    expect(caught(() => parse('HostName "a b\n')).message).toMatch(/^crossnix.conf:1:10: unterminated quote/);
    expect(caught(() => parse('Host ""\n')).code).toBe("PARSE");
    expect(caught(() => parse("Port # only a comment\n")).code).toBe("PARSE");
  });

  it("accepts exactly what the real ssh accepts, on tricky lines", () => {
    const lines = [
      "Port 22",
      "Port",
      "Port #x",
      "Port=22",
      "Port = 22",
      "Port =22",
      "Port= 22",
      "Port=",
      "Port= #",
      "  =  Port 22",
      "=Port 22",
      '"Port" 22',
      '"Port 22',
      "Port\t\r",
      "Port  22  # c",
      "\t\tPort\t22",
      "Host",
      "Host #x",
      'Host ""',
      "Host a ''",
      "Host a\\ b",
      "Host=a",
      "Host= =a",
      "Host a b !c",
      'Host "a\\"b"',
      "Match",
      "Match #x",
      "Match all",
      'HostName "a b',
      "HostName 'a b'",
      'HostName a"b',
      "HostName 'x'y'z'",
      "HostName x\\",
      'HostName "x\\"',
      'HostName "x\\\\"',
      "HostName x\fy",
      "HostName x\f",
      "HostName\t=\tx",
      "ProxyCommand #x",
      'ProxyCommand ""',
      'ProxyCommand "x',
      "Include #x",
      "SendEnv #x",
      "IdentitiesOnly #",
      'HostKeyAlias "#x"',
      "  \t# comment",
      "",
    ];
    for (const line of lines) {
      let ours = true;
      try {
        parse(`${line}\n`);
      } catch (e) {
        expect(isCrossnixError(e) && e.code).toBe("PARSE");
        ours = false;
      }
      expect(ours, JSON.stringify(line)).toBe(sshAccepts(`${line}\n`));
    }
  });
});

describe("alias blocks", () => {
  const options = { hostName: "127.0.10.2", port: 2222, user: "nix", identityFile: "/etc/nix/crossnix/b1_ed25519" };

  it("renders the crossnix block", () => {
    expect(renderAliasBlock("b1", options, MARKER)).toBe(
      [
        "Host b1",
        "  # managed by crossnix",
        "  HostName 127.0.10.2",
        "  Port 2222",
        "  User nix",
        "  IdentityFile /etc/nix/crossnix/b1_ed25519",
        "  IdentitiesOnly yes",
        "  HostKeyAlias b1",
        "",
      ].join("\n"),
    );
    expect(renderAliasBlock("b2", { hostName: "b2.lan" }, "managed by crossnix")).toBe(
      "Host b2\n  # managed by crossnix\n  HostName b2.lan\n  HostKeyAlias b2\n",
    );
  });

  it("is what the real ssh resolves for the alias", () => {
    const resolved = sshResolve(renderAliasBlock("b1", options, MARKER), "b1");
    expect(resolved.get("hostname")).toEqual(["127.0.10.2"]);
    expect(resolved.get("port")).toEqual(["2222"]);
    expect(resolved.get("user")).toEqual(["nix"]);
    expect(resolved.get("identityfile")).toEqual(["/etc/nix/crossnix/b1_ed25519"]);
    expect(resolved.get("identitiesonly")).toEqual(["yes"]);
    expect(resolved.get("hostkeyalias")).toEqual(["b1"]);
  });

  it("writes an identity path with spaces and '%' so the real ssh loads that exact file", async () => {
    // ssh expands IdentityFile only when it connects, so give it a loopback port that accepts and hangs up.
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const text = renderAliasBlock(
        "b1",
        { hostName: "127.0.0.1", port, identityFile: "/keys/my keys/100%.key" },
        MARKER,
      );
      expect(text).toContain('IdentityFile "/keys/my keys/100%%.key"');
      const file = path.join(dir, "identity.conf");
      writeFileSync(file, text);
      const run = await new Promise<string>((resolve) => {
        execFile(
          "ssh",
          ["-v", "-F", file, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "b1", "true"],
          { timeout: 10_000 },
          (_error, _stdout, stderr) => resolve(stderr),
        );
      });
      expect(run).toContain(`Connecting to 127.0.0.1 [127.0.0.1] port ${port}`);
      expect(run).toContain("identity file /keys/my keys/100%.key type -1");
    } finally {
      server.close();
    }
  });

  it("refuses values it cannot write safely", () => {
    expect(caught(() => renderAliasBlock("b*", options, MARKER)).code).toBe("BAD_INPUT");
    expect(caught(() => renderAliasBlock("a b", options, MARKER)).code).toBe("BAD_INPUT");
    expect(caught(() => renderAliasBlock("b1", { ...options, hostName: "a b" }, MARKER)).code).toBe("BAD_INPUT");
    expect(caught(() => renderAliasBlock("b1", { ...options, port: 70000 }, MARKER)).code).toBe("BAD_INPUT");
    expect(caught(() => renderAliasBlock("b1", { ...options, user: "%u" }, MARKER)).code).toBe("BAD_INPUT");
    expect(caught(() => renderAliasBlock("b1", { ...options, identityFile: '/a"b' }, MARKER)).code).toBe("BAD_INPUT");
    expect(caught(() => renderAliasBlock("b1", { ...options, identityFile: "/a\nHost *" }, MARKER)).code).toBe(
      "BAD_INPUT",
    );
    expect(caught(() => upsert("", "b1", [["HostName", "x\ny"]])).code).toBe("BAD_INPUT");
    expect(caught(() => upsert("", "b1", [["Host", "other"]])).code).toBe("BAD_INPUT");
    expect(caught(() => upsert("", "b1", [["User", ""]])).code).toBe("BAD_INPUT");
    expect(upsert("", "b1", [["ProxyJump", "=j"]])).toContain('ProxyJump "=j"');
  });
});

describe("upsert and remove", () => {
  const user = "# my config\nHost work\n  HostName work.example\n  User me\n";
  const opts: [string, string][] = [
    ["HostName", "127.0.10.2"],
    ["HostKeyAlias", "b1"],
  ];
  const block = "Host b1\n  # managed by crossnix\n  HostName 127.0.10.2\n  HostKeyAlias b1\n";

  it("appends a new block after a blank line, and creates an empty file's only block", () => {
    expect(upsert("", "b1", opts)).toBe(block);
    expect(upsert(user, "b1", opts)).toBe(`${user}\n${block}`);
    expect(upsert("Port 22", "b1", opts)).toBe(`Port 22\n\n${block.slice(0, -1)}`);
    expect(upsert("Port 22\r\n", "b1", opts)).toBe(`Port 22\r\n\r\n${block.replaceAll("\n", "\r\n")}`);
  });

  it("replaces only its own block, keeping every other byte", () => {
    const before = `${user}\n${block}\n# about next\nHost next\n  User n\n`;
    const after = upsert(before, "b1", [["HostName", "127.0.0.9"]]);
    expect(after).toBe(
      `${user}\nHost b1\n  # managed by crossnix\n  HostName 127.0.0.9\n\n# about next\nHost next\n  User n\n`,
    );
  });

  it("is a no-op (same object) when the block is already right", () => {
    const c = parse(`${user}\n${block}`);
    expect(upsertHostBlock(c, "b1", opts, MARKER)).toBe(c);
    expect(upsertHostBlock(c, "b1", opts, "managed by crossnix")).toBe(c);
  });

  it("never replaces or removes a block without the marker", () => {
    const mine = "Host b1\n  HostName mine\n";
    const e = caught(() => upsert(mine, "b1", opts));
    expect(e.code).toBe("CONFLICT");
    expect(e.message).toContain("crossnix.conf:1");
    expect(remove(mine, "b1")).toBe(mine);
    expect(remove(`${user}\n${block}`, "work")).toBe(`${user}\n${block}`);
    // A multi-pattern block is not "the" alias block either.
    expect(upsert("Host b1 other\n  User x\n", "b1", opts)).toBe(`Host b1 other\n  User x\n\n${block}`);
  });

  it("removes its block and the blank line that separates it", () => {
    expect(remove(`${user}\n${block}`, "b1")).toBe(user);
    expect(remove(`${user}\n${block}\nHost next\n`, "b1")).toBe(`${user}\nHost next\n`);
    expect(remove(`${block}\nHost next\n`, "b1")).toBe("Host next\n");
    expect(remove(block, "b1")).toBe("");
    expect(remove(user, "b1")).toBe(user);
  });

  it("add then remove gives back the original bytes", () => {
    for (const text of ["", user, "Port 22", "Port 22\r\n", "\n", `${user}\n`, "Host a\n\n\n"]) {
      expect(remove(upsert(text, "b1", opts), "b1")).toBe(text);
    }
  });
});

describe("aliasesMatching", () => {
  const c = parse(
    ["Host builder", "Host *.lan !secret.lan", "Host node?", "Host *", "Host Mixed", "Match host builder"].join("\n"),
  );

  it("applies ssh's wildcard, negation and case rules", () => {
    expect(aliasesMatching(c, "builder")).toEqual(["builder", "*"]);
    expect(aliasesMatching(c, "a.lan")).toEqual(["*.lan", "*"]);
    expect(aliasesMatching(c, "secret.lan")).toEqual(["*"]);
    expect(aliasesMatching(c, "node1")).toEqual(["node?", "*"]);
    expect(aliasesMatching(c, "node12")).toEqual(["*"]);
    // OpenSSH matches Host lines against the name as typed: `ssh mixed` does not use `Host Mixed`.
    expect(aliasesMatching(c, "Mixed")).toEqual(["*", "Mixed"]);
    expect(aliasesMatching(c, "mixed")).toEqual(["*"]);
    expect(aliasesMatching(parse("Host a\n"), "b")).toEqual([]);
  });

  it("agrees with the real ssh about which blocks apply", () => {
    // SendEnv accumulates over every block that applies, so `ssh -G` shows them all.
    const patterns = ["builder", "*.lan !secret.lan", "node?", "Mixed", "b*r", "!x *"];
    const text = patterns.map((p, i) => `Host ${p}\n  SendEnv B${i}\n`).join("");
    const config = parse(text);
    const blockOf = new Map(patterns.map((p, i) => [p.split(" ")[0]!, `B${i}`]));
    blockOf.set("*", "B5");
    for (const name of ["builder", "a.lan", "secret.lan", "node1", "node12", "Mixed", "mixed", "bar", "x"]) {
      const ours = aliasesMatching(config, name).map((p) => blockOf.get(p));
      expect(ours, name).toEqual(sshResolve(text, name).get("sendenv") ?? []);
    }
  });
});

// ---------------------------------------------------------------------------------------------

const word = fc.stringMatching(/^[a-z0-9._-]{1,8}$/).filter((w) => w !== "b1");
const ws = fc.constantFrom(" ", "  ", "\t", " \t");
const indent = fc.constantFrom("", "  ", "\t", "    ");
const sep = fc.constantFrom(" ", "\t", "=", " = ", "  ", "= ");
const value = fc.oneof(
  word,
  word.map((w) => `"${w} ${w}"`),
  word.map((w) => `'${w}'`),
  fc.tuple(word, word).map(([a, b]) => `${a} ${b}`),
);
const trailing = fc.oneof(
  fc.constant(""),
  ws,
  word.map((w) => ` # ${w}`),
);
const line = fc.oneof(
  fc.constantFrom("", " ", "\t"),
  fc.tuple(indent, fc.string({ unit: "grapheme-ascii" })).map(([i, t]) => `${i}#${t}`),
  fc
    .tuple(
      indent,
      fc.constantFrom("HostName", "Port", "User", "IdentityFile", "include", "SendEnv"),
      sep,
      value,
      trailing,
    )
    .map((p) => p.join("")),
  fc
    .tuple(fc.constantFrom("Host ", "Host\t", "Host="), fc.array(word, { minLength: 1, maxLength: 3 }))
    .map(([h, ps]) => h + ps.join(" ")),
  word.map((w) => `Match host ${w}`),
);
const configText = fc
  .tuple(fc.array(fc.tuple(line, fc.constantFrom("\n", "\r\n")), { maxLength: 15 }), fc.boolean())
  .map(([ls, finalNewline]) => {
    const text = ls.map(([l, eol]) => l + eol).join("");
    return finalNewline ? text : text.replace(/\r?\n$/, "");
  });

describe("properties", () => {
  it("round-trips random valid configs byte for byte", () => {
    fc.assert(
      fc.property(configText, (text) => {
        expect(renderSshConfig(parse(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips arbitrary text, or throws only a PARSE CrossnixError", () => {
    const piece = fc.oneof(
      fc.string({ unit: "binary-ascii" }),
      fc.constantFrom("\n", "\r\n", "Host ", "Port", "=", '"', "'", "\\", "#", " ", "\t", "\f", "Match "),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join("");
        let c: SshConfig;
        try {
          c = parse(text);
        } catch (e) {
          expect(isCrossnixError(e) && e.code).toBe("PARSE");
          return;
        }
        expect(renderSshConfig(c)).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });

  it("upsert appends or replaces without touching other bytes; remove undoes an add", () => {
    const opts = fc.array(fc.tuple(fc.constantFrom("HostName", "User", "Port"), word), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(configText, opts, opts, (text, first, second) => {
        const added = upsert(text, "b1", first);
        const eol = /\r?\n/.exec(text)?.[0] ?? "\n";
        const base = text === "" || text.endsWith("\n") ? text : text + eol;
        expect(added.startsWith(base)).toBe(true);
        expect(remove(added, "b1")).toBe(text);

        // Replacing in the middle: only the block's own lines change.
        const middle = `${added}${/\n$/.test(added) ? "" : "\n"}Host after\n  User x\n`;
        const replaced = upsert(middle, "b1", second);
        const start = middle.indexOf("Host b1");
        const end = middle.indexOf("Host after");
        expect(replaced.slice(0, start)).toBe(middle.slice(0, start));
        expect(replaced.endsWith(middle.slice(end))).toBe(true);
        expect(upsert(replaced, "b1", second)).toBe(replaced);
        expect(findHostBlock(parse(replaced), "b1")?.options.map((o) => [o.key, o.value])).toEqual(second);
      }),
      { numRuns: 300 },
    );
  });
});
