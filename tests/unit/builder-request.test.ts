// Validating builder destinations and `builder add` flags.
import { describe, expect, it } from "vitest";
import { parseBuilderRequest } from "../../src/core/builders/request.js";
import { parseDestination } from "../../src/core/builders/destination.js";
import { CrossnixError } from "../../src/errors.js";

function badField(fn: () => unknown): { field: unknown; value: unknown; message: string; exitCode: number } {
  try {
    fn();
  } catch (error) {
    if (error instanceof CrossnixError) {
      return {
        field: error.detail?.["field"],
        value: error.detail?.["value"],
        message: error.message,
        exitCode: error.exitCode,
      };
    }
    throw error;
  }
  throw new Error("expected a CrossnixError");
}

describe("parseDestination", () => {
  it.each([
    ["build-box", { protocol: null, user: null, host: "build-box", port: null }],
    ["nix@build-box.lan:2222", { protocol: null, user: "nix", host: "build-box.lan", port: 2222 }],
    ["ssh-ng://builder@127.0.0.2:2201", { protocol: "ssh-ng", user: "builder", host: "127.0.0.2", port: 2201 }],
    ["ssh://root@[fd00::1]:22", { protocol: "ssh", user: "root", host: "fd00::1", port: 22 }],
    ["eu.nixbuild.net", { protocol: null, user: null, host: "eu.nixbuild.net", port: null }],
  ])("%s", (text, expected) => {
    expect(parseDestination(text)).toEqual(expected);
  });

  it.each([
    ["", "no host"],
    ["http://host", "unsupported scheme"],
    ["user@host:99999", "port '99999'"],
    ["user@host:abc", "port 'abc'"],
    ["us er@host", "spaces"],
    ["host/path", "no path"],
    ["fd00::1", "brackets"],
    ["-oProxyCommand=x", "not a host name"],
    ["bad user!@host", "no path, query or spaces"],
  ])("rejects %j", (text, why) => {
    const error = badField(() => parseDestination(text));
    expect(error.exitCode).toBe(2);
    expect(error.field).toBe("destination");
    expect(error.message).toContain(why);
  });
});

describe("parseBuilderRequest", () => {
  it("defaults to ssh-ng and a name from the host and port", () => {
    const r = parseBuilderRequest("nix@127.0.0.2:2201", {});
    expect(r.protocol).toBe("ssh-ng");
    expect(r.name).toBe("127.0.0.2-2201");
    expect(r.probe).toBe(true);
  });

  it("keeps repeatable flags", () => {
    const r = parseBuilderRequest("h", {
      system: ["aarch64-linux", "x86_64-linux"],
      feature: ["kvm", "kvm", "big-parallel"],
      maxJobs: "4",
      speedFactor: "2.5",
    });
    expect(r.systems).toEqual(["aarch64-linux", "x86_64-linux"]);
    expect(r.features).toEqual(["kvm", "big-parallel"]);
    expect(r.maxJobs).toBe(4);
    expect(r.speedFactor).toBe(2.5);
  });

  it.each([
    [{ system: ["aarch64-linx"] }, "--system", "aarch64-linx"],
    [{ maxJobs: "0" }, "--max-jobs", "0"],
    [{ maxJobs: "-2" }, "--max-jobs", "-2"],
    [{ maxJobs: "2.5" }, "--max-jobs", "2.5"],
    [{ maxJobs: "four" }, "--max-jobs", "four"],
    [{ speedFactor: "0" }, "--speed-factor", "0"],
    [{ speedFactor: "-1" }, "--speed-factor", "-1"],
    [{ speedFactor: "fast" }, "--speed-factor", "fast"],
    [{ feature: ["big parallel"] }, "--feature", "big parallel"],
    [{ feature: ["kvm,nixos-test"] }, "--feature", "kvm,nixos-test"],
    [{ mandatoryFeature: ["a b"] }, "--mandatory-feature", "a b"],
    [{ name: "my builder" }, "--name", "my builder"],
    [{ protocol: "ftp" }, "--protocol", "ftp"],
    [{ remoteProgram: "nix-daemon" }, "--remote-program", "nix-daemon"],
    [{ probe: false }, "--system", "(none)"],
  ])("rejects %j naming the field and value", (options, field, value) => {
    const error = badField(() => parseBuilderRequest("host", options));
    expect(error.exitCode).toBe(2);
    expect(error.field).toBe(field);
    expect(error.value).toBe(value);
    expect(error.message).toContain(field);
  });
});
