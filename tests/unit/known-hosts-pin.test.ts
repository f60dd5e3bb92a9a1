// Pinning a host key in crossnix's known_hosts keeps every other byte, line endings included.
import { describe, expect, it } from "vitest";
import { pinInKnownHosts } from "../../src/core/builders/plan.js";

describe("pinInKnownHosts", () => {
  it("appends to an LF file and replaces a pin in place", () => {
    expect(pinInKnownHosts("", "big", "ssh-ed25519 AAAA")).toBe("big ssh-ed25519 AAAA\n");
    expect(pinInKnownHosts("a k1\nbig old\nb k2\n", "big", "ssh-ed25519 NEW")).toBe(
      "a k1\nbig ssh-ed25519 NEW\nb k2\n",
    );
    expect(pinInKnownHosts("a k1\nbig old\n", "big", null)).toBe("a k1\n");
  });

  it("keeps CRLF lines and writes a new line with CRLF in a CRLF file", () => {
    expect(pinInKnownHosts("a k1\r\nb k2\r\n", "big", "ssh-ed25519 AAAA")).toBe(
      "a k1\r\nb k2\r\nbig ssh-ed25519 AAAA\r\n",
    );
    expect(pinInKnownHosts("a k1\r\nbig old\r\nb k2\r\n", "big", "ssh-ed25519 NEW")).toBe(
      "a k1\r\nbig ssh-ed25519 NEW\r\nb k2\r\n",
    );
    expect(pinInKnownHosts("a k1\r\nbig old\r\nb k2\r\n", "big", null)).toBe("a k1\r\nb k2\r\n");
  });

  it("in a mixed file, every line keeps its own ending and a new line follows the dominant one", () => {
    expect(pinInKnownHosts("a k1\r\nb k2\nc k3\r\n", "big", "ssh-ed25519 AAAA")).toBe(
      "a k1\r\nb k2\nc k3\r\nbig ssh-ed25519 AAAA\r\n",
    );
    expect(pinInKnownHosts("a k1\nb k2\r\nc k3\n", "big", "ssh-ed25519 AAAA")).toBe(
      "a k1\nb k2\r\nc k3\nbig ssh-ed25519 AAAA\n",
    );
    expect(pinInKnownHosts("a k1\r\nbig old\nc k3\r\n", "big", null)).toBe("a k1\r\nc k3\r\n");
  });

  it("ends an unterminated last line before appending, with the file's ending", () => {
    expect(pinInKnownHosts("a k1\r\nb k2", "big", "ssh-ed25519 AAAA")).toBe("a k1\r\nb k2\r\nbig ssh-ed25519 AAAA\r\n");
    expect(pinInKnownHosts("a k1", "big", "ssh-ed25519 AAAA")).toBe("a k1\nbig ssh-ed25519 AAAA\n");
  });
});

describe("pinInKnownHosts, replacing before an unterminated last line", () => {
  it("leaves that last line's bytes alone", () => {
    expect(pinInKnownHosts("big old\r\nb k2", "big", "ssh-ed25519 NEW")).toBe("big ssh-ed25519 NEW\r\nb k2");
  });
});
