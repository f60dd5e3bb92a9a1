// doctor's cache checks decided from facts, and cache check's derivation graph and summary line.
import { describe, expect, it } from "vitest";
import { type PathVerdict, parseDerivationGraph, summarise, summaryLine } from "../../src/core/caches/closure.js";
import { substituterView } from "../../src/core/caches/substituters.js";
import { type CacheFacts, cacheChecks } from "../../src/core/doctor/cache.js";
import { parseNixConf } from "../../src/core/formats/nix-conf.js";

function facts(system: string, user: string, over: Partial<CacheFacts> = {}): CacheFacts {
  const view = substituterView([
    { source: "/etc/nix/nix.conf", kind: "system-file", conf: parseNixConf(system, "/etc/nix/nix.conf") },
    {
      source: "/home/u/.config/nix/nix.conf",
      kind: "user-file",
      conf: parseNixConf(user, "/home/u/.config/nix/nix.conf"),
    },
  ]);
  return {
    view,
    probes: view.entries.map((e) => ({
      url: e.url,
      ok: true,
      why: null,
      priority: e.url.includes("nixos") ? 40 : null,
      ms: 5,
    })),
    trusted: false,
    user: "u",
    recordedKeys: new Map(),
    netrc: { path: "/etc/nix/netrc", mode: null, needed: [] },
    ...over,
  };
}

const byId = (checks: ReturnType<typeof cacheChecks>) => Object.fromEntries(checks.map((c) => [c.id, c]));

describe("doctor cache checks", () => {
  it("an untrusted user's extra-substituters and keys are reported as ignored, with the fix", () => {
    const checks = byId(
      cacheChecks(
        facts(
          "",
          "extra-substituters = https://example.cachix.org\nextra-trusted-public-keys = example.cachix.org-1:AAAA\n",
        ),
      ),
    );
    expect(checks["cache.user-settings"]!.status).toBe("warn");
    expect(checks["cache.user-settings"]!.observed).toContain(
      "https://example.cachix.org (/home/u/.config/nix/nix.conf:1)",
    );
    expect(checks["cache.user-settings"]!.observed).toContain("trusted-public-keys example.cachix.org-1:AAAA");
    expect(checks["cache.user-settings"]!.fix?.command).toBe(
      "sudo crossnix cache add https://example.cachix.org --key <name:base64>",
    );
    expect(
      byId(cacheChecks({ ...facts("", "extra-substituters = https://x.org\n"), trusted: true }))["cache.user-settings"]!
        .status,
    ).toBe("ok");
  });

  it("a nix copy cache (no Priority) ahead of cache.nixos.org is a warning; ?priority= settles it", () => {
    const ahead = byId(cacheChecks(facts("extra-substituters = http://127.0.0.5:8080\n", "")));
    expect(ahead["cache.priority"]!.status).toBe("warn");
    expect(ahead["cache.priority"]!.observed).toContain("not advertised, so 0");
    const fixed = byId(cacheChecks(facts("extra-substituters = http://127.0.0.5:8080?priority=50\n", "")));
    expect(fixed["cache.priority"]!.status).toBe("ok");
  });

  it("unreachable caches, caches without a key, and credentials without a netrc", () => {
    const f = facts("extra-substituters = http://127.0.0.5:8080\n", "");
    f.probes = f.probes.map((p) => (p.url.includes("127.0.0.5") ? { ...p, ok: false, why: "HTTP 403" } : p));
    f.netrc.needed = ["127.0.0.5"];
    const checks = byId(cacheChecks(f));
    expect(checks["cache.reachable"]!.status).toBe("warn");
    expect(checks["cache.reachable"]!.observed).toContain("HTTP 403");
    expect(checks["cache.keys"]!.status).toBe("warn");
    expect(checks["cache.netrc"]!.status).toBe("fail");
    f.recordedKeys.set("http://127.0.0.5:8080", ["mine-1"]);
    f.netrc.mode = 0o100644;
    const again = byId(cacheChecks(f));
    expect(again["cache.keys"]!.status).toBe("ok");
    expect(again["cache.netrc"]!.status).toBe("warn");
    expect(
      byId(cacheChecks({ ...f, netrc: { path: "~/.netrc", mode: null, needed: [] } }))["cache.netrc"]!.status,
    ).toBe("fail");
  });
});

describe("cache check's closure", () => {
  it("reads Nix 2.8's show-derivation JSON: outputs and the input outputs a derivation needs", () => {
    const graph = parseDerivationGraph(
      JSON.stringify({
        "/nix/store/aaaa-top.drv": {
          outputs: { out: { path: "/nix/store/bbbb-top" } },
          inputDrvs: { "/nix/store/cccc-dep.drv": ["out"] },
          inputSrcs: ["/nix/store/dddd-src"],
          system: "aarch64-linux",
          env: { requiredSystemFeatures: "big-parallel" },
        },
        "/nix/store/cccc-dep.drv": {
          outputs: { out: { path: "/nix/store/eeee-dep" }, dev: { path: "/nix/store/ffff-dep-dev" } },
          inputDrvs: {},
          inputSrcs: [],
          system: "x86_64-linux",
          env: {},
        },
      }),
    );
    expect(graph.get("/nix/store/aaaa-top.drv")).toEqual({
      drv: "/nix/store/aaaa-top.drv",
      outputs: ["/nix/store/bbbb-top"],
      inputOutputs: ["/nix/store/eeee-dep"],
      inputSrcs: ["/nix/store/dddd-src"],
      system: "aarch64-linux",
      features: ["big-parallel"],
    });
    expect(graph.get("/nix/store/cccc-dep.drv")!.outputs).toEqual(["/nix/store/eeee-dep", "/nix/store/ffff-dep-dev"]);
  });

  it("sums what is fetched and counts each derivation to build once, by where", () => {
    const verdicts: PathVerdict[] = [
      { path: "/nix/store/a", status: "valid" },
      {
        path: "/nix/store/b",
        status: "cached",
        cache: "c",
        signedBy: "k",
        downloadSize: 1024 * 1024,
        narSize: 2048 * 1024,
      },
      {
        path: "/nix/store/c",
        status: "build",
        drv: "/d1.drv",
        system: "aarch64-linux",
        where: "on aarch64-linux builders",
        unverifiedIn: [],
      },
      {
        path: "/nix/store/c-dev",
        status: "build",
        drv: "/d1.drv",
        system: "aarch64-linux",
        where: "on aarch64-linux builders",
        unverifiedIn: [],
      },
      {
        path: "/nix/store/d",
        status: "build",
        drv: "/d2.drv",
        system: "x86_64-linux",
        where: "locally",
        unverifiedIn: [{ cache: "c", why: "unsigned" }],
      },
    ];
    const summary = summarise(verdicts);
    expect(summary).toMatchObject({ total: 5, valid: 1, cached: 1, build: 3, unverified: 1, downloadBytes: 1048576 });
    expect(summaryLine(summary)).toBe(
      "1 of 5 paths cached, 1.0 MiB to fetch; 1 already here; 2 to build: 1 on aarch64-linux builders, 1 locally",
    );
  });
});
