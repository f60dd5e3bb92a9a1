// Where Nix reads settings from, NIX_REMOTE_SYSTEMS, and the effective value of a setting.
import { describe, expect, it } from "vitest";
import { parseNixConf } from "../../src/core/formats/nix-conf.js";
import {
  appliedLines,
  buildersDefault,
  type ConfigLayer,
  canonicalSettingName,
  effectiveSetting,
  isAppendable,
  remoteSystemsDefault,
  systemConfigFile,
  unknownExtraSettings,
  userConfigFiles,
} from "../../src/core/nix/settings.js";

const layer = (
  source: string,
  kind: ConfigLayer["kind"],
  text: string | null,
  includedFrom?: ConfigLayer["includedFrom"],
): ConfigLayer => ({
  source,
  kind,
  conf: text === null ? null : parseNixConf(text, source),
  ...(includedFrom ? { includedFrom } : {}),
});

describe("config file locations", () => {
  it("system file: $NIX_CONF_DIR/nix.conf, /etc/nix when unset or empty", () => {
    expect(systemConfigFile({})).toBe("/etc/nix/nix.conf");
    expect(systemConfigFile({ NIX_CONF_DIR: "" })).toBe("/etc/nix/nix.conf");
    expect(systemConfigFile({ NIX_CONF_DIR: "/opt/nix/" })).toBe("/opt/nix/nix.conf");
  });

  it("user files default to ~/.config/nix then /etc/xdg, applied so that ~/.config wins", () => {
    expect(userConfigFiles({}, "/home/u")).toEqual(["/etc/xdg/nix/nix.conf", "/home/u/.config/nix/nix.conf"]);
  });

  it("honours NIX_CONFIG_HOME, XDG_CONFIG_HOME and XDG_CONFIG_DIRS", () => {
    expect(userConfigFiles({ XDG_CONFIG_HOME: "/x", XDG_CONFIG_DIRS: "/d1::/d2" }, "/home/u")).toEqual([
      "/d2/nix/nix.conf",
      "/d1/nix/nix.conf",
      "/x/nix/nix.conf",
    ]);
    expect(userConfigFiles({ NIX_CONFIG_HOME: "/n", XDG_CONFIG_HOME: "/x", XDG_CONFIG_DIRS: "" }, "/h")).toEqual([
      "/n/nix.conf",
    ]);
  });

  it("NIX_USER_CONF_FILES replaces them all and is applied in reverse, so its first entry wins", () => {
    expect(userConfigFiles({ NIX_USER_CONF_FILES: "/first.conf:/second.conf", XDG_CONFIG_HOME: "/x" }, "/h")).toEqual([
      "/second.conf",
      "/first.conf",
    ]);
    expect(userConfigFiles({ NIX_USER_CONF_FILES: "" }, "/h")).toEqual([]);
  });
});

describe("NIX_REMOTE_SYSTEMS", () => {
  it("becomes '@file' lines joined by newlines, only as a default", () => {
    expect(remoteSystemsDefault({})).toBeNull();
    expect(remoteSystemsDefault({ NIX_REMOTE_SYSTEMS: "/a:/b" })).toBe("@/a\n@/b");
    expect(remoteSystemsDefault({ NIX_REMOTE_SYSTEMS: "" })).toBe("");
    expect(buildersDefault({ NIX_REMOTE_SYSTEMS: "/a" })).toEqual({ value: "@/a", source: "NIX_REMOTE_SYSTEMS" });
    expect(buildersDefault({ NIX_CONF_DIR: "/c" })).toEqual({ value: "@/c/machines", source: null });
  });

  it("is the value of builders until any builders line overrides it", () => {
    const env = { NIX_REMOTE_SYSTEMS: "/home/u/.config/nix/machines" };
    const defaults = { builders: buildersDefault(env) };
    const none = effectiveSetting("builders", [layer("/etc/nix/nix.conf", "system-file", "max-jobs = 0\n")], defaults);
    expect(none).toMatchObject({
      value: "@/home/u/.config/nix/machines",
      source: "NIX_REMOTE_SYSTEMS",
      line: null,
      baseIsDefault: true,
      history: [],
    });
    const set = effectiveSetting(
      "builders",
      [layer("/etc/nix/nix.conf", "system-file", "builders = @/etc/nix/machines\n")],
      defaults,
    );
    expect(set).toMatchObject({
      value: "@/etc/nix/machines",
      source: "/etc/nix/nix.conf",
      line: 1,
      baseIsDefault: false,
    });
  });
});

describe("effectiveSetting", () => {
  const system = layer(
    "/etc/nix/nix.conf",
    "system-file",
    "max-jobs = 1\nsubstituters = https://s\ntrusted-users = root\n",
  );
  const user = layer("/home/u/.config/nix/nix.conf", "user-file", "max-jobs = 4\nextra-substituters = https://u\n");
  const env = layer("NIX_CONFIG", "env", "max-jobs = 8\nextra-trusted-users = alice\n");

  it("later layers win and NIX_CONFIG is last", () => {
    const s = effectiveSetting("max-jobs", [system, user, env]);
    expect(s).toMatchObject({ value: "8", source: "NIX_CONFIG", line: 1, forwardedToDaemon: true });
    expect(s.history.map((h) => [h.source, h.value, h.op])).toEqual([
      ["/etc/nix/nix.conf", "1", "set"],
      ["/home/u/.config/nix/nix.conf", "4", "set"],
      ["NIX_CONFIG", "8", "set"],
    ]);
  });

  it("extra- appends, space-joined, onto the value or the supplied default", () => {
    expect(effectiveSetting("substituters", [system, user, env]).value).toBe("https://s https://u");
    expect(effectiveSetting("trusted-users", [system, user, env])).toMatchObject({ value: "root alice", line: 2 });
    const onlyExtra = effectiveSetting("substituters", [user], { substituters: "https://cache.nixos.org/" });
    expect(onlyExtra).toMatchObject({ value: "https://cache.nixos.org/ https://u", baseIsDefault: true });
    expect(onlyExtra.history[0]?.op).toBe("append");
    // A set after an append replaces everything before it.
    const reset = layer("/c", "system-file", "extra-substituters = a\nsubstituters = b\n");
    expect(effectiveSetting("substituters", [reset]).value).toBe("b");
  });

  it("does not treat extra-builders as an append to builders", () => {
    const conf = layer("/etc/nix/nix.conf", "system-file", "builders = @/etc/nix/machines\nextra-builders = ssh://x\n");
    expect(effectiveSetting("builders", [conf]).value).toBe("@/etc/nix/machines");
    expect(isAppendable("builders")).toBe(false);
    expect(unknownExtraSettings([conf])).toEqual([
      expect.objectContaining({
        name: "extra-builders",
        base: "builders",
        baseKnown: true,
        source: "/etc/nix/nix.conf",
        line: 2,
      }),
    ]);
  });

  it("knows extra-platforms is a setting of its own", () => {
    const conf = layer("/c", "system-file", "extra-platforms = x86_64-darwin\nextra-extra-platforms = i686-linux\n");
    expect(effectiveSetting("extra-platforms", [conf]).value).toBe("x86_64-darwin i686-linux");
    expect(unknownExtraSettings([conf])).toEqual([]);
    expect(unknownExtraSettings([layer("/c", "system-file", "extra-frobnicate = 1\n")])[0]).toMatchObject({
      baseKnown: false,
    });
  });

  it("follows old aliases (build-max-jobs, binary-caches) like Nix does", () => {
    expect(canonicalSettingName("build-max-jobs")).toBe("max-jobs");
    const conf = layer(
      "/c",
      "system-file",
      "max-jobs = 2\nbuild-max-jobs = 5\nbinary-caches = a\nextra-binary-caches = b\n",
    );
    expect(effectiveSetting("max-jobs", [conf]).value).toBe("5");
    expect(effectiveSetting("substituters", [conf]).value).toBe("a b");
  });

  it("null means the default when nothing sets it and no default is supplied", () => {
    expect(effectiveSetting("builders", [layer("/c", "system-file", null)])).toMatchObject({
      value: null,
      source: null,
      line: null,
      forwardedToDaemon: false,
    });
  });

  it("only user files and NIX_CONFIG are forwarded to the daemon", () => {
    expect(effectiveSetting("substituters", [system]).forwardedToDaemon).toBe(false);
    expect(effectiveSetting("substituters", [system, user]).forwardedToDaemon).toBe(true);
  });

  it("applies an included file at its include line", () => {
    const main = layer("/etc/nix/nix.conf", "system-file", "builders = @/a\n!include nix.custom.conf\nmax-jobs = 1\n");
    const custom = layer("/etc/nix/nix.custom.conf", "system-file", "builders = @/b\nmax-jobs = 9\n", {
      source: "/etc/nix/nix.conf",
      line: 2,
    });
    expect(effectiveSetting("builders", [main, custom])).toMatchObject({
      value: "@/b",
      source: "/etc/nix/nix.custom.conf",
      line: 1,
    });
    expect(effectiveSetting("max-jobs", [main, custom])).toMatchObject({
      value: "1",
      source: "/etc/nix/nix.conf",
      line: 3,
    });
    expect(appliedLines([main, custom]).map((l) => `${l.source}:${l.line}`)).toEqual([
      "/etc/nix/nix.conf:1",
      "/etc/nix/nix.custom.conf:1",
      "/etc/nix/nix.custom.conf:2",
      "/etc/nix/nix.conf:3",
    ]);
  });
});
