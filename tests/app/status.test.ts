// `crossnix status` on each recorded macOS layout (tests/helpers/approach-fixtures.ts): the whole --json
// report is compared with tests/fixtures/approaches/expected/<fixture>.status.json, reviewed by hand.
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { machineStatus } from "../../src/app/approaches/status.js";
import nativeStatusCommand from "../../src/commands/approaches/native-status.js";
import { renderStatus } from "../../src/commands/approaches/render-status.js";
import statusCommand from "../../src/commands/approaches/status.js";
import { createHost } from "../../src/host/system/host.js";
import { fixtureContext } from "../helpers/approach-context.js";
import { type Fixture, type FixtureName, LAYOUTS, makeFixture } from "../helpers/approach-fixtures.js";

let fixture: Fixture | null = null;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = null;
});

async function statusOf(name: FixtureName, probe = false) {
  fixture = await makeFixture(name);
  return machineStatus({ host: createHost(fixture.env) }, { probe, timeoutSeconds: 2 });
}

async function expected(name: FixtureName): Promise<unknown> {
  return JSON.parse(
    await readFile(new URL(`../fixtures/approaches/expected/${name}.status.json`, import.meta.url), "utf8"),
  );
}

describe("status --json on each recorded layout", () => {
  for (const name of Object.keys(LAYOUTS) as FixtureName[]) {
    it(name, async () => {
      expect(await statusOf(name)).toEqual(await expected(name));
    });
  }
});

describe("what status decides", () => {
  it("nix-rosetta-builder under Determinate: VM present, registration lost, nobody builds Linux", async () => {
    const r = await statusOf("rosetta-builder-lost");
    const rosetta = r.approaches.find((a) => a.id === "nix-rosetta-builder");
    expect(rosetta?.state).toBe("broken");
    expect(rosetta?.footprint.machinesLine).toBeNull();
    expect(rosetta?.problems.join("\n")).toContain("drops nix.buildMachines");
    expect(r.bySystem).toEqual({ "aarch64-linux": [], "x86_64-linux": [] });
  });

  it("the guide's setup: one destination, both systems, every place it was written", async () => {
    const r = await statusOf("manual");
    const manual = r.approaches.filter((a) => a.id === "manual");
    expect(manual.map((a) => a.label)).toEqual(["manual:user@remote-builder"]);
    expect(manual[0]?.systems).toEqual(["aarch64-linux", "x86_64-linux"]);
    expect(manual[0]?.problems).toContain("/Users/alice/.zshrc:2 sets NIX_REMOTE_SYSTEMS");
    expect(manual[0]?.problems.some((p) => p.includes("system and URI columns are swapped"))).toBe(true);
  });

  it("--probe asks determinate-nixd: not granted and logged out are told apart", async () => {
    const notGranted = await statusOf("native-not-granted", true);
    expect(notGranted.native).toMatchObject({ granted: false, loggedIn: true, reason: { code: "not-granted" } });
    await fixture?.cleanup();
    const loggedOut = await statusOf("native-logged-out", true);
    expect(loggedOut.native).toMatchObject({ loggedIn: false, reason: { code: "logged-out" } });
    expect(loggedOut.approaches[0]?.footprint.launchdLabel).toEqual({
      label: "systems.determinate.nix-daemon",
      present: true,
      loaded: true,
    });
  });

  it("--probe connects: a VM builder nothing answers for is broken, and no longer counted for its system", async () => {
    const r = await statusOf("linux-builder", true);
    expect(r.probed).toBe(true);
    expect(r.approaches[0]?.problems).toEqual(["nothing answers on localhost:31022"]);
    expect(r.bySystem["aarch64-linux"]).toEqual([]);
  });

  it("the text names each approach, its footprint and who builds each system", async () => {
    const text = renderStatus(await statusOf("virby"));
    expect(text).toContain("• virby: Virby — configured [aarch64-linux]");
    expect(text).toContain("launchd org.nixos.virbyd: installed");
    expect(text).toContain("user _virby (348): present");
    expect(text).toContain("aarch64-linux: virby");
    expect(text).toContain("x86_64-linux: nobody");
  });
});

describe("emulation", () => {
  async function withExtraPlatforms(platform: "linux" | "darwin", binfmt: string[]) {
    fixture = await makeFixture("linux-builder");
    await appendFile(path.join(fixture.root, "etc/static/nix/nix.conf"), "extra-platforms = aarch64-linux\n");
    const dir = path.join(fixture.root, "proc/sys/fs/binfmt_misc");
    await mkdir(dir, { recursive: true });
    for (const name of ["register", "status", ...binfmt]) await writeFile(path.join(dir, name), "");
    const report = await machineStatus(
      { host: createHost({ ...fixture.env, CROSSNIX_PLATFORM: platform, CROSSNIX_ARCH: "x64" }) },
      { probe: false, timeoutSeconds: 2 },
    );
    return report.approaches.find((a) => a.id === "emulation");
  }

  it("on Linux, extra-platforms with a binfmt_misc handler for the CPU builds it", async () => {
    expect(await withExtraPlatforms("linux", ["qemu-aarch64"])).toMatchObject({
      state: "configured",
      systems: ["aarch64-linux"],
      problems: [],
    });
  });

  it("on Linux without the handler, it is broken and says which", async () => {
    expect((await withExtraPlatforms("linux", []))?.problems).toEqual([
      "no binfmt_misc handler for aarch64 (/proc/sys/fs/binfmt_misc)",
    ]);
  });

  it("on macOS it cannot work at all", async () => {
    expect((await withExtraPlatforms("darwin", ["qemu-aarch64"]))?.problems).toEqual([
      "extra-platforms lists aarch64-linux, but macOS has no binfmt_misc: no Linux binary can run here",
    ]);
  });
});

describe("the status and native status commands", () => {
  it("status returns the report as --json and the rendered screen as text", async () => {
    fixture = await makeFixture("native-granted");
    const { ctx } = fixtureContext(fixture);
    const result = await statusCommand(ctx, { args: [], options: {}, passthrough: [] });
    expect(result.json).toEqual(await expected("native-granted"));
    expect(result.text.split("\n").slice(0, 3)).toEqual([
      "This machine: aarch64-darwin, Determinate Nix 3.15.1 (Nix 2.33.0)",
      "Native builder: config.json builder.state=enabled; external-builders /usr/local/bin/determinate-nixd; granted true",
      "",
    ]);
  });

  it("native status exits 1 when the builder is not in use", async () => {
    fixture = await makeFixture("native-logged-out");
    const result = await nativeStatusCommand(fixtureContext(fixture).ctx, { args: [], options: {}, passthrough: [] });
    expect(result.exitCode).toBe(1);
    expect(result.text).toContain("Fix: sudo determinate-nixd login");
  });
});
