// Public keys, ssh-keyscan output and the known_hosts model.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  findHostKeys,
  fingerprintSha256,
  listProblems,
  parseKeyscanOutput,
  parseKnownHosts,
  parsePublicKeyLine,
  preferredHostKey,
  renderKnownHosts,
} from "../../src/core/formats/known-hosts.js";
import { isCrossnixError } from "../../src/errors.js";

let dir: string;
/** Real keys from ssh-keygen, by type. */
const keys: Record<string, { keyType: string; key: string; comment: string; pubPath: string }> = {};

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "crossnix-known-hosts-"));
  for (const [name, args] of [
    ["ed25519", ["-t", "ed25519"]],
    ["ecdsa", ["-t", "ecdsa", "-b", "256"]],
  ] as const) {
    const file = path.join(dir, name);
    execFileSync("ssh-keygen", ["-q", ...args, "-N", "", "-C", `test ${name}`, "-f", file]);
    keys[name] = { ...parsePublicKeyLine(readFileSync(`${file}.pub`, "utf8")), pubPath: `${file}.pub` };
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ed = () => keys["ed25519"]!;
const ec = () => keys["ecdsa"]!;

function expectCode(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isCrossnixError(caught), String(caught)).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
}

describe("public keys", () => {
  it("parses a .pub line", () => {
    expect(ed().keyType).toBe("ssh-ed25519");
    expect(ed().key).toMatch(/^AAAAC3NzaC1lZDI1NTE5/);
    expect(ed().comment).toBe("test ed25519");
    expect(parsePublicKeyLine(`${ed().keyType} ${ed().key}`).comment).toBe("");
  });

  it("refuses garbage with BAD_INPUT", () => {
    expectCode(() => parsePublicKeyLine(""), "BAD_INPUT");
    expectCode(() => parsePublicKeyLine("ssh-ed25519"), "BAD_INPUT");
    expectCode(() => parsePublicKeyLine("ssh-ed25519 not*base64"), "BAD_INPUT");
    expectCode(() => parsePublicKeyLine("ssh-ed25519 AAAA"), "BAD_INPUT");
    // The blob says ecdsa; the text says ed25519.
    expectCode(() => parsePublicKeyLine(`ssh-ed25519 ${ec().key}`), "BAD_INPUT");
  });

  it("fingerprints exactly like ssh-keygen -lf", () => {
    for (const k of [ed(), ec()]) {
      const printed = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", k.pubPath], { encoding: "utf8" });
      expect(fingerprintSha256(k.key)).toBe(printed.split(" ")[1]);
    }
    expectCode(() => fingerprintSha256("%%%"), "BAD_INPUT");
  });

  it("prefers ed25519, then ecdsa, then rsa", () => {
    const rsa = { keyType: "ssh-rsa", key: "R" };
    const ecdsa = { keyType: "ecdsa-sha2-nistp256", key: "E" };
    const ed25519 = { keyType: "ssh-ed25519", key: "D" };
    expect(preferredHostKey([rsa, ecdsa, ed25519])).toBe(ed25519);
    expect(preferredHostKey([rsa, ecdsa])).toBe(ecdsa);
    expect(preferredHostKey([{ keyType: "ssh-dss", key: "S" }, rsa])).toBe(rsa);
    expect(preferredHostKey([{ keyType: "ssh-dss", key: "S" }])).toBeUndefined();
    expect(preferredHostKey([])).toBeUndefined();
  });
});

describe("ssh-keyscan output", () => {
  it("reads host, port and key, skipping comments", () => {
    const out = [
      "# 127.0.0.2:2201 SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
      `[127.0.0.2]:2201 ${ed().keyType} ${ed().key}`,
      `builder.example ${ec().keyType} ${ec().key}`,
      `[::1]:2202 ${ed().keyType} ${ed().key}`,
      "",
    ].join("\n");
    expect(parseKeyscanOutput(out)).toEqual([
      { host: "127.0.0.2", port: 2201, keyType: ed().keyType, key: ed().key },
      { host: "builder.example", port: 22, keyType: ec().keyType, key: ec().key },
      { host: "::1", port: 2202, keyType: ed().keyType, key: ed().key },
    ]);
  });
});

describe("known_hosts", () => {
  it("parses every line form and renders the same bytes", () => {
    const text = [
      "# comment",
      "",
      `  builder,127.0.10.2 ${ed().keyType} ${ed().key} root@builder`,
      `[127.0.0.2]:2201 ${ec().keyType} ${ec().key}`,
      `@cert-authority *.example.com ${ed().keyType} ${ed().key}`,
      `@revoked revoked.example ${ec().keyType} ${ec().key}`,
      `\tbuilder2\t${ed().keyType}\t${ed().key}\tspaced   comment  `,
    ].join("\r\n");
    const k = parseKnownHosts(text, "known_hosts");
    expect(renderKnownHosts(k)).toBe(text);
    expect(listProblems(k)).toEqual([]);
    expect(k.lines.map((l) => l.entry?.hosts ?? null)).toEqual([
      null,
      null,
      "builder,127.0.10.2",
      "[127.0.0.2]:2201",
      "*.example.com",
      "revoked.example",
      "builder2",
    ]);
    expect(k.lines[2]!.entry!.comment).toBe("root@builder");
    expect(k.lines[4]!.entry!.marker).toBe("@cert-authority");
    expect(k.lines[5]!.entry!.marker).toBe("@revoked");
    expect(k.lines[6]!.entry!.comment).toBe("spaced   comment");
  });

  it("keeps bad lines verbatim and reports them", () => {
    const text = [
      "host-only",
      "host ssh-ed25519",
      "host ssh-ed25519 @@@@",
      `@bogus host ${ed().keyType} ${ed().key}`,
      `host ssh-rsa ${ed().key}`,
      `|1|c2FsdA==|aGFzaA== ${ed().keyType} ${ed().key}`,
      `fine ${ed().keyType} ${ed().key}`,
    ].join("\n");
    const k = parseKnownHosts(text, "kh");
    expect(renderKnownHosts(k)).toBe(text);
    const problems = listProblems(k);
    expect(problems.map((p) => p.line)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(problems[0]!.text).toBe("host-only");
    expect(problems[3]!.problem).toMatch(/^kh:4: unknown marker '@bogus'/);
    expect(problems[4]!.problem).toMatch(/does not match/);
    expect(findHostKeys(k, "fine")).toHaveLength(1);
    expect(findHostKeys(k, "host")).toEqual([]);
  });

  it("finds keys by name, port, wildcard and negation, like ssh", () => {
    const text = [
      `builder,127.0.10.2 ${ed().keyType} ${ed().key}`,
      `[builder]:2222 ${ec().keyType} ${ec().key}`,
      `*.lan,!secret.lan ${ec().keyType} ${ec().key}`,
      `node? ${ed().keyType} ${ed().key}`,
      `@cert-authority builder ${ec().keyType} ${ec().key}`,
      `@revoked builder ${ec().keyType} ${ec().key}`,
    ].join("\n");
    const k = parseKnownHosts(text, "kh");
    expect(findHostKeys(k, "builder")).toEqual([{ keyType: ed().keyType, key: ed().key, line: 1 }]);
    expect(findHostKeys(k, "BUILDER", 22)).toHaveLength(1);
    expect(findHostKeys(k, "127.0.10.2")).toHaveLength(1);
    expect(findHostKeys(k, "builder", 2222)).toEqual([{ keyType: ec().keyType, key: ec().key, line: 2 }]);
    expect(findHostKeys(k, "builder", 2223)).toEqual([]);
    expect(findHostKeys(k, "a.lan").map((h) => h.line)).toEqual([3]);
    expect(findHostKeys(k, "secret.lan")).toEqual([]);
    expect(findHostKeys(k, "node1").map((h) => h.line)).toEqual([4]);
    expect(findHostKeys(k, "node12")).toEqual([]);
  });

  it("matches entries hashed by real ssh-keygen -H, agreeing with ssh-keygen -F", () => {
    const file = path.join(dir, "known_hosts");
    writeFileSync(
      file,
      [
        `builder ${ed().keyType} ${ed().key}`,
        `[127.0.0.2]:2201 ${ec().keyType} ${ec().key}`,
        `other ${ec().keyType} ${ec().key}`,
        "",
      ].join("\n"),
    );
    execFileSync("ssh-keygen", ["-q", "-H", "-f", file], { stdio: "pipe" });
    const hashed = readFileSync(file, "utf8");
    expect(hashed).not.toMatch(/builder|127\.0\.0\.2|other/);
    const k = parseKnownHosts(hashed, file);
    expect(renderKnownHosts(k)).toBe(hashed);
    expect(listProblems(k)).toEqual([]);

    const cases: [string, number | undefined, string][] = [
      ["builder", undefined, "builder"],
      ["127.0.0.2", 2201, "[127.0.0.2]:2201"],
      ["other", 22, "other"],
      ["127.0.0.2", undefined, "127.0.0.2"],
      ["nobody", undefined, "nobody"],
    ];
    for (const [host, port, sshName] of cases) {
      const ours = findHostKeys(k, host, port).map((h) => h.line);
      let theirs: number[] = [];
      try {
        const out = execFileSync("ssh-keygen", ["-F", sshName, "-f", file], { encoding: "utf8" });
        theirs = [...out.matchAll(/found: line (\d+)/g)].map((m) => Number(m[1]));
      } catch {
        // ssh-keygen -F exits 1 when the name is not found.
      }
      expect(ours, sshName).toEqual(theirs);
    }
    expect(findHostKeys(k, "builder")).toEqual([{ keyType: ed().keyType, key: ed().key, line: 1 }]);
    expect(findHostKeys(k, "127.0.0.2", 2201)[0]!.keyType).toBe(ec().keyType);
  });

  it("round-trips any text and never throws", () => {
    const piece = fc.oneof(
      fc.string({ unit: "binary-ascii" }),
      fc.constantFrom("\n", "\r\n", " ", "\t", "#", "@revoked ", "|1|", ",", "[h]:22 ", "ssh-ed25519 ", "AAAA"),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join("");
        expect(renderKnownHosts(parseKnownHosts(text, "kh"))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
