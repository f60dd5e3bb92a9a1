// `crossnix status` on each recorded macOS layout (tests/helpers/approach-fixtures.ts): the whole --json
// report is compared with tests/fixtures/approaches/expected/<fixture>.status.json, reviewed by hand.
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { machineStatus } from "../../src/app/approaches/status.js";
import { renderStatus } from "../../src/commands/approaches/render-status.js";
import { createHost } from "../../src/host/system/host.js";
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
