// Pure pieces of the approaches domain: config.json edits keep every byte they do not own, the guide's
// setup is read as what it meant, and native-builder texts decode to reasons.
import { describe, expect, it } from "vitest";
import { detectApproaches } from "../../src/core/approaches/detect.js";
import {
  correctedLine,
  mergeByDestination,
  parseRemoteSystemsPairs,
  parseSystemFirstLine,
  setsRemoteSystems,
} from "../../src/core/approaches/manual.js";
import { parseTarget, targetApproachId, targetLabel } from "../../src/core/approaches/migrate.js";
import { decodeNativeText, parseExternalBuilders } from "../../src/core/approaches/native.js";
import { editNativeConfig, parseNativeConfig } from "../../src/core/approaches/native-config.js";
import type { ApproachSnapshot } from "../../src/core/approaches/snapshot.js";

describe("editNativeConfig", () => {
  it("changes only the builder value, keeping comments, CRLF, key order and odd spacing", () => {
    const text =
      '{\r\n    // mine\r\n    "telemetry" :  {"sentry":{"endpoint":null}},\r\n    "builder": { "state": "disabled" }\r\n}\r\n';
    expect(editNativeConfig(text, { state: "enabled" })).toBe(text.replace('"disabled"', '"enabled"'));
  });

  it("adds a missing builder object with the file's indentation and line ending", () => {
    const text = '{\r\n\t"garbageCollector": {\r\n\t\t"strategy": "automatic"\r\n\t}\r\n}\r\n';
    const out = editNativeConfig(text, { state: "enabled" });
    expect(out.startsWith('{\r\n\t"garbageCollector": {\r\n\t\t"strategy": "automatic"\r\n\t}')).toBe(true);
    expect(parseNativeConfig(out).builder.state).toBe("enabled");
    expect(out.split("\r\n").every((line) => !line.includes("\n"))).toBe(true);
  });

  it("a missing file becomes a small formatted document", () => {
    expect(editNativeConfig(null, { state: "enabled", memoryBytes: 1 })).toBe(
      '{\n  "builder": {\n    "state": "enabled",\n    "memoryBytes": 1\n  }\n}\n',
    );
  });

  it("reports syntax errors instead of guessing", () => {
    expect(parseNativeConfig('{"builder": }').errors.length).toBeGreaterThan(0);
  });
});

describe("the guide's manual setup", () => {
  it("a system-first line is read as URI, systems, jobs, speed and space-separated features", () => {
    expect(parseSystemFirstLine("aarch64-linux ssh://user@host 4 1 big-parallel kvm benchmark")).toEqual({
      destination: "user@host",
      systems: ["aarch64-linux"],
      maxJobs: 4,
      speedFactor: 1,
      features: ["big-parallel", "kvm", "benchmark"],
    });
  });

  it("correct lines and comments are not system-first", () => {
    expect(parseSystemFirstLine("ssh-ng://user@host aarch64-linux - 4 1 kvm")).toBeNull();
    expect(parseSystemFirstLine("# aarch64-linux ssh://user@host")).toBeNull();
    expect(parseSystemFirstLine("aarch64-linux - 4")).toBeNull();
  });

  it("NIX_REMOTE_SYSTEMS pairs become one builder per destination", () => {
    const pairs = parseRemoteSystemsPairs("aarch64-linux=user@a x86_64-linux=user@a:riscv64-linux=root@b");
    expect(pairs.map((p) => [p.destination, p.systems])).toEqual([
      ["user@a", ["aarch64-linux", "x86_64-linux"]],
      ["root@b", ["riscv64-linux"]],
    ]);
    expect(parseRemoteSystemsPairs("/etc/nix/machines:/home/me/machines")).toEqual([]);
  });

  it("lines and the variable for one host merge, every source kept", () => {
    const merged = mergeByDestination([
      ...parseRemoteSystemsPairs("aarch64-linux=user@h"),
      { ...parseSystemFirstLine("x86_64-linux ssh://user@h 4 1 kvm")!, source: { file: "/m", line: 2 } },
    ]);
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({ systems: ["aarch64-linux", "x86_64-linux"], maxJobs: 4, features: ["kvm"] });
    expect(merged[0]?.sources).toHaveLength(2);
  });

  it("the corrected line puts the URI first and joins features with commas", () => {
    const parsed = parseSystemFirstLine("aarch64-linux ssh://user@host 4 1 big-parallel kvm")!;
    expect(correctedLine(parsed)).toBe("ssh-ng://user@host aarch64-linux - 4 1 big-parallel,kvm");
  });

  it("recognises the variable being set in sh and fish profiles", () => {
    expect(setsRemoteSystems('export NIX_REMOTE_SYSTEMS="a=b"')).toBe(true);
    expect(setsRemoteSystems("set -gx NIX_REMOTE_SYSTEMS a=b")).toBe(true);
    expect(setsRemoteSystems("# export NIX_REMOTE_SYSTEMS=x")).toBe(false);
  });
});

describe("native builder texts", () => {
  it("external-builders as nix config show prints it", () => {
    expect(
      parseExternalBuilders(
        '[{"args":["builder"],"program":"/usr/local/bin/determinate-nixd","systems":["aarch64-linux","x86_64-linux"]}]',
      ),
    ).toEqual([
      { program: "/usr/local/bin/determinate-nixd", args: ["builder"], systems: ["aarch64-linux", "x86_64-linux"] },
    ]);
    expect(parseExternalBuilders("[]")).toEqual([]);
  });

  it("decodes the errors users see", () => {
    expect(decodeNativeText("error: could not find setting 'external-builders'")?.code).toBe("too-old");
    expect(
      decodeNativeText(
        "Error: failed to set up Native Linux Builder: HTTP status code 400 Bad Request, reply: The Native Linux Builder is not currently available. Contact support@determinate.systems",
      )?.code,
    ).toBe("not-granted");
    expect(decodeNativeText("Authentication: logged-out")?.code).toBe("logged-out");
    expect(
      decodeNativeText(
        "warning: Ignoring setting 'external-builders' because experimental feature 'external-builders' is not enabled",
      )?.code,
    ).toBe("experimental-feature-off");
  });
});

describe("detectApproaches on a bare snapshot", () => {
  const snapshot = (over: Partial<ApproachSnapshot> = {}): ApproachSnapshot => ({
    platform: "darwin",
    system: "aarch64-darwin",
    nix: { flavor: "upstream", version: "2.28.3", determinate: null, raw: "nix (Nix) 2.28.3" },
    native: {
      determinateVersion: null,
      nixVersion: "2.28.3",
      nixdPresent: false,
      config: { text: null, link: null },
      externalBuilders: null,
      nixdStatus: null,
      nixdVersion: null,
    },
    launchDaemons: [],
    launchAgents: [],
    sshConfigFiles: [],
    machines: { path: "/etc/nix/machines", text: null, link: null },
    userMachines: { path: "/Users/a/.config/nix/machines", text: null, link: null },
    builders: { value: null, source: null },
    extraPlatforms: [],
    substituters: [],
    trustedPublicKeys: [],
    existing: [],
    vmRecords: [],
    limaInstances: {},
    binfmt: [],
    env: {},
    profileLines: [],
    probe: null,
    ...over,
  });
  const machines = (text: string) => ({ path: "/etc/nix/machines", text, link: null });

  it("a hand-written SSH line is an SSH builder crossnix did not write; a disabled crossnix one is off", () => {
    const r = detectApproaches(
      snapshot({
        machines: machines(
          "ssh://root@box x86_64-linux - 2 1\n# crossnix-disabled: ssh-ng://big aarch64-linux - 4 1 - - - # crossnix:big\n",
        ),
      }),
    );
    expect(r.approaches.map((a) => [a.label, a.state, a.managedBy])).toEqual([
      ["ssh:box", "configured", "hand-written"],
      ["ssh:big", "off", "crossnix"],
    ]);
    expect(r.bySystem).toEqual({ "aarch64-linux": [], "x86_64-linux": ["ssh:box"] });
  });

  it("builders set empty (nix-darwin with distributedBuilds = false): the machines file is not read", () => {
    const r = detectApproaches(
      snapshot({
        machines: machines("ssh://root@box x86_64-linux - 2 1\n"),
        builders: { value: "", source: "/etc/nix/nix.conf" },
      }),
    );
    expect(r.approaches[0]?.problems).toEqual(["builders (/etc/nix/nix.conf) does not read /etc/nix/machines"]);
    expect(r.bySystem["x86_64-linux"]).toEqual([]);
  });

  it("nothing at all: no approach, nobody builds Linux", () => {
    const r = detectApproaches(snapshot());
    expect(r.approaches).toEqual([]);
    expect(r.bySystem).toEqual({ "aarch64-linux": [], "x86_64-linux": [] });
  });
});

describe("migration targets", () => {
  it("lima takes an optional VM name, checked as vm create checks it", () => {
    expect(parseTarget("lima")).toEqual({ kind: "lima", name: "nixbuilder" });
    expect(parseTarget("lima:big-vm")).toEqual({ kind: "lima", name: "big-vm" });
    expect(targetLabel(parseTarget("lima"))).toBe("lima");
    expect(targetLabel(parseTarget("lima:big-vm"))).toBe("lima:big-vm");
    expect(() => parseTarget("lima:-rf")).toThrow("invalid VM name '-rf'");
    expect(() => parseTarget("vm")).toThrow("must be native, lima, lima:<vm name>, linux-builder or ssh:<user@host>");
  });

  it("under Determinate, linux-builder means Determinate's own VM builder", () => {
    expect(targetApproachId({ kind: "linux-builder" }, true)).toBe("determinate-vm-builder");
    expect(targetApproachId({ kind: "linux-builder" }, false)).toBe("linux-builder");
    expect(targetApproachId({ kind: "native" }, true)).toBeNull();
  });
});
