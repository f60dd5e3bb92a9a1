// `crossnix native status|enable|disable` on recorded layouts: config.json edited losslessly through the
// plan runner, the daemon restarted through the launchctl stand-in, and the outcome read back from the
// nix stand-in (which only reports the native builder when enabled, granted and logged in).
import { appendFile, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { nativeStatus, setNative } from "../../src/app/approaches/native.js";
import { isCrossnixError } from "../../src/errors.js";
import { fixtureContext, fixtureOpener } from "../helpers/approach-context.js";
import type { Fixture } from "../helpers/approach-fixtures.js";

const open = fixtureOpener();

const configOf = (f: Fixture) => readFile(path.join(f.root, "etc/determinate/config.json"), "utf8");
const launchctlLog = (f: Fixture) => readFile(path.join(f.state, "launchctl.log"), "utf8").catch(() => "");

describe("native enable", () => {
  it("adds builder.state and nothing else, restarts the daemon, and says it took effect", async () => {
    const f = await open("native-off");
    const before = await configOf(f);
    const { ctx } = fixtureContext(f);
    const r = await setNative(ctx, { state: "enabled" });
    // One-line file: the key goes in before the final brace; every other byte is where it was.
    expect(await configOf(f)).toBe(`${before.slice(0, before.lastIndexOf("}"))},"builder": {"state":"enabled"}}\n`);
    expect(await launchctlLog(f)).toContain("kickstart -k system/systems.determinate.nix-daemon");
    expect(r).toMatchObject({ outcome: "applied", tookEffect: true, reason: null });
    expect(r.after?.systems).toEqual(["aarch64-linux", "x86_64-linux"]);
  });

  it("memory and CPUs go into a multi-line file indented like it, other keys untouched", async () => {
    const f = await open("native-granted");
    const { ctx } = fixtureContext(f);
    await setNative(ctx, { state: "enabled", memoryGiB: 12, cpus: 2 });
    expect(await configOf(f)).toBe(
      '{\n  "builder": {\n    "state": "enabled",\n    "memoryBytes": 12884901888,\n    "cpuCount": 2\n  },\n  "garbageCollector": {\n    "strategy": "automatic"\n  }\n}\n',
    );
  });

  it("not granted: written and restarted, then says so instead of claiming success", async () => {
    const f = await open("native-off");
    await rm(path.join(f.state, "granted"));
    const { ctx } = fixtureContext(f);
    const r = await setNative(ctx, { state: "enabled" });
    expect(r.outcome).toBe("applied");
    expect(r.tookEffect).toBe(false);
    expect(r.reason?.code).toBe("not-granted");
    expect(r.reason?.fix).toContain("support@determinate.systems");
  });

  it("logged out: the reason is the login", async () => {
    const f = await open("native-off");
    await rm(path.join(f.state, "logged-in"));
    const r = await setNative(fixtureContext(f).ctx, { state: "enabled" });
    expect(r.tookEffect).toBe(false);
    expect(r.reason).toMatchObject({ code: "logged-out", fix: "sudo determinate-nixd login" });
  });

  it("a Nix without the external-builders setting: the reason is the version", async () => {
    const f = await open("native-off");
    await writeFile(path.join(f.state, "no-external-builders-setting"), "");
    const r = await setNative(fixtureContext(f).ctx, { state: "enabled" });
    expect(r.tookEffect).toBe(false);
    expect(r.reason?.code).toBe("too-old");
    expect(r.reason?.message).toContain("no external-builders setting");
  });

  it("Determinate older than 3.8.4 is refused before anything is written", async () => {
    const f = await open("native-off");
    await writeFile(path.join(f.state, "nix-version"), "nix (Determinate Nix 3.8.0) 2.30.1\n");
    const before = await configOf(f);
    const error = await setNative(fixtureContext(f).ctx, { state: "enabled" }).catch((e: unknown) => e);
    expect(isCrossnixError(error) && error.code).toBe("UNSUPPORTED");
    expect(await configOf(f)).toBe(before);
    expect(await launchctlLog(f)).toBe("");
  });

  it("the determinate nix-darwin module owns config.json: prints the option, writes nothing", async () => {
    const f = await open("native-module");
    const r = await setNative(fixtureContext(f).ctx, { state: "enabled" });
    expect(r.outcome).toBe("managed");
    expect(r.nixSnippet).toBe('determinateNix.determinateNixd.builder.state = "enabled";');
    expect(await configOf(f)).toBe('{"builder":{"state":"disabled"}}');
    expect(await launchctlLog(f)).toBe("");
  });

  it("--dry-run shows the change and writes nothing", async () => {
    const f = await open("native-off");
    const before = await configOf(f);
    const { ctx, seen } = fixtureContext(f, { dryRun: true });
    const r = await setNative(ctx, { state: "enabled" });
    expect(r.outcome).toBe("dry-run");
    expect(seen.out.join("\n")).toContain('+{"garbageCollector"');
    expect(await configOf(f)).toBe(before);
  });

  it("a config.json that is not JSON is refused (exit 2)", async () => {
    const f = await open("native-off");
    await appendFile(path.join(f.root, "etc/determinate/config.json"), "{oops");
    const error = await setNative(fixtureContext(f).ctx, { state: "enabled" }).catch((e: unknown) => e);
    expect(isCrossnixError(error) && [error.code, error.exitCode]).toEqual(["PARSE", 2]);
  });
});

describe("native disable and status", () => {
  it("disable turns the builder off and Nix stops using it", async () => {
    const f = await open("native-granted");
    const r = await setNative(fixtureContext(f).ctx, { state: "disabled" });
    expect(await configOf(f)).toContain('"state": "disabled"');
    expect(r).toMatchObject({ outcome: "applied", tookEffect: true });
    expect(r.after?.active).toBe(false);
  });

  it("status on a granted machine: intent, what Nix uses, and the grant agree", async () => {
    const f = await open("native-granted");
    expect(await nativeStatus(fixtureContext(f).ctx)).toMatchObject({
      config: { state: "enabled", memoryBytes: 8589934592, cpuCount: 1 },
      active: true,
      granted: true,
      loggedIn: true,
      reason: null,
    });
  });
});
