// Every byte of a config file survives crossnix: the lossless decoding round-trips any bytes, and so
// does each file model on top of it (parse → render), not only for valid UTF-8.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeLossless, encodeLossless } from "../../src/core/formats/bytes.js";
import { parseKnownHosts, renderKnownHosts } from "../../src/core/formats/known-hosts.js";
import { parseMachinesFile, renderMachinesFile } from "../../src/core/formats/machines/index.js";
import { parseNixConf, renderNixConf } from "../../src/core/formats/nix-conf.js";
import { parseSshConfig, renderSshConfig } from "../../src/core/formats/ssh-config.js";
import { CrossnixError } from "../../src/errors.js";

const RUNS = { numRuns: 500 };

// Bytes biased towards what config files hold: text, newlines (LF and CR), '#', '=', and high bytes.
const configBytes = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(0x0a, 0x0d, 0x23, 0x3d, 0x20, 0x09, 0xc3, 0xa9, 0xe2, 0x80, 0xff, 0xf0, 0xed),
      fc.constantFrom(...Buffer.from("ssh-ng://b x86_64-linux - 4 1\nbuilders = @/etc/nix/machines\nHost b\n")),
    ),
    { maxLength: 300 },
  )
  .map((a) => Uint8Array.from(a));

/** Renders what parses; garbage may be refused with a located PARSE error, never mangled. */
function roundTrips(bytes: Uint8Array, parse: (text: string) => unknown, render: (model: never) => string): void {
  let model: unknown;
  try {
    model = parse(decodeLossless(bytes));
  } catch (error) {
    if (error instanceof CrossnixError && error.code === "PARSE") return;
    throw error;
  }
  expect(encodeLossless(render(model as never)).equals(Buffer.from(bytes))).toBe(true);
}

describe("lossless bytes", () => {
  it("decode then encode gives back any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(encodeLossless(decodeLossless(bytes)).equals(Buffer.from(bytes))).toBe(true);
      }),
      RUNS,
    );
  });

  it("valid UTF-8 decodes exactly as Node does, so models see ordinary text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        expect(decodeLossless(Buffer.from(text, "utf8"))).toBe(Buffer.from(text, "utf8").toString("utf8"));
      }),
      RUNS,
    );
  });

  it("escapes only invalid bytes: truncated, overlong, surrogate-encoding and out-of-range sequences", () => {
    expect(decodeLossless(Buffer.from([0x61, 0xc3]))).toBe("a\udcc3");
    expect(decodeLossless(Buffer.from([0xc0, 0xaf]))).toBe("\udcc0\udcaf");
    expect(decodeLossless(Buffer.from([0xed, 0xa0, 0x80]))).toBe("\udced\udca0\udc80");
    expect(decodeLossless(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe("\udcf4\udc90\udc80\udc80");
    expect(decodeLossless(Buffer.from("é😀", "utf8"))).toBe("é😀");
  });

  it("nix.conf, machines, ssh_config and known_hosts models keep every byte", () => {
    fc.assert(
      fc.property(configBytes, (bytes) => {
        roundTrips(bytes, (t) => parseNixConf(t, "/etc/nix/nix.conf"), renderNixConf as never);
        roundTrips(bytes, (t) => parseMachinesFile(t, "/etc/nix/machines"), renderMachinesFile as never);
        roundTrips(bytes, (t) => parseSshConfig(t, "/etc/ssh/ssh_config.d/crossnix.conf"), renderSshConfig as never);
        roundTrips(bytes, (t) => parseKnownHosts(t, "/etc/nix/crossnix/known_hosts"), renderKnownHosts as never);
      }),
      RUNS,
    );
  });
});
