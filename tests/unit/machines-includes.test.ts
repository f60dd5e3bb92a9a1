// `@file` lines inside machines files, followed at any depth (docs/nix-machines-file.md#includes),
// and what doctor makes of them.
import { describe, expect, it } from "vitest";
import {
  buildersCheck,
  type ConfigFacts,
  configuredBuilders,
  buildersView,
  machinesFileCheck,
} from "../../src/core/doctor/config.js";
import type { LocalFacts } from "../../src/core/doctor/local.js";
import { fleetFromMachines } from "../../src/core/builders/fleet.js";
import { machinesDialect, type MachinesRead, readMachinesTree } from "../../src/core/formats/machines/index.js";
import { parseNixConf } from "../../src/core/formats/nix-conf.js";

function reader(files: Record<string, string | Error>) {
  const asked: string[] = [];
  const read = async (path: string): Promise<MachinesRead> => {
    asked.push(path);
    const f = files[path];
    if (f === undefined) return { kind: "missing" };
    if (f instanceof Error) return { kind: "error", message: f.message };
    return { kind: "text", text: f };
  };
  return { read, asked };
}

const FILES = {
  "/etc/nix/machines": "@/etc/nix/other\nssh://top x86_64-linux\n",
  "/etc/nix/other": "# more builders\nssh://mid aarch64-linux - 2\n@/etc/nix/deep ; @/etc/nix/gone\n",
  "/etc/nix/deep": "ssh://deep riscv64-linux\n",
};

describe("readMachinesTree", () => {
  it("follows @file at any depth, in Nix's order, and keeps file:line for each builder", async () => {
    const { read } = reader(FILES);
    const tree = await readMachinesTree(["/etc/nix/machines"], read);
    expect(
      tree.files.map((f) => [f.path, f.exists, f.includedFrom && `${f.includedFrom.file}:${f.includedFrom.line}`]),
    ).toEqual([
      ["/etc/nix/machines", true, null],
      ["/etc/nix/other", true, "/etc/nix/machines:1"],
      ["/etc/nix/deep", true, "/etc/nix/other:3"],
      ["/etc/nix/gone", false, "/etc/nix/other:3"],
    ]);
    const fleet = fleetFromMachines(
      tree.files.flatMap((f) => (f.parsed ? [{ path: f.path, model: f.parsed.model }] : [])),
    );
    expect(fleet.map((b) => `${b.uri} ${b.file}:${b.line}`)).toEqual([
      "ssh://top /etc/nix/machines:2",
      "ssh://mid /etc/nix/other:2",
      "ssh://deep /etc/nix/deep:1",
    ]);
    expect(tree.problems).toEqual([]);
  });

  it("stops at a cycle and reports it; reports relative paths instead of guessing Nix's working directory", async () => {
    const { read, asked } = reader({ "/a": "@/b\n", "/b": "ssh://b\n@/a\n@machines.d/x\n" });
    const tree = await readMachinesTree(["/a"], read);
    expect(asked).toEqual(["/a", "/b"]);
    expect(tree.problems.map((p) => p.kind)).toEqual(["cycle", "relative"]);
    expect(tree.problems[0]!.message).toMatch(/^\/b:2: '@\/a' closes an include cycle \(\/a → \/b → \/a\)/);
    const self = await readMachinesTree(["/s"], reader({ "/s": "@/s\n" }).read);
    expect(self.problems.map((p) => p.kind)).toEqual(["cycle"]);
  });

  it("a file reached twice is read once; a read error is kept (Nix stops on it)", async () => {
    const { read, asked } = reader({
      "/a": "@/c\n@/c\n@/d\n",
      "/c": "ssh://c\n",
      "/d": new Error("EACCES: permission denied"),
    });
    const tree = await readMachinesTree(["/a", "/c"], read);
    expect(asked).toEqual(["/a", "/c", "/d"]);
    expect(tree.files.find((f) => f.path === "/d")?.readError).toMatch(/EACCES/);
  });

  it("before 2.29 ' @file' is no include, so nothing is read for it", async () => {
    const { read, asked } = reader({ "/a": "ssh://a ; @/b\n", "/b": "ssh://b\n" });
    await readMachinesTree(["/a"], read, machinesDialect("2.8.0"));
    expect(asked).toEqual(["/a"]);
    const newer = reader({ "/a": "ssh://a ; @/b\n", "/b": "ssh://b\n" });
    await readMachinesTree(["/a"], newer.read, machinesDialect("2.29.0"));
    expect(newer.asked).toEqual(["/a", "/b"]);
  });
});

function localFacts(version: string): LocalFacts {
  return {
    platform: "linux",
    system: "x86_64-linux",
    uid: 0,
    nix: { present: true, version, determinate: null, raw: `nix (Nix) ${version}` },
    flavor: "upstream",
    flavorEvidence: [],
    mode: "daemon",
    settingsFile: "/etc/nix/nix.conf",
    machinesFile: "/etc/nix/machines",
    readOnlyReason: null,
    daemon: {
      socketPath: "/s",
      socket: "answers",
      socketError: null,
      pid: 1,
      startedAt: 0,
      env: {},
      reloadCommand: null,
    },
  } as LocalFacts;
}

async function facts(
  files: Record<string, string>,
  version: string,
  builders = "@/etc/nix/machines",
): Promise<ConfigFacts> {
  const dialect = machinesDialect(version);
  const tree = await readMachinesTree(["/etc/nix/machines"], reader(files).read, dialect);
  return {
    systemLayers: [
      {
        source: "/etc/nix/nix.conf",
        kind: "system-file",
        conf: parseNixConf(`builders = ${builders}\n`, "/etc/nix/nix.conf"),
      },
    ],
    clientLayers: [],
    loadErrors: [],
    user: { name: "root", groups: [], viaSudo: false },
    clientRemoteSystems: undefined,
    daemonEnv: {},
    fileTimes: [],
    machines: tree.files.map((f) => ({ ...f, text: files[f.path] ?? null })),
    dialect,
    includeProblems: tree.problems,
    userMachinesFiles: [],
  };
}

describe("doctor sees the builders of included files", () => {
  it("a machines file holding only @/etc/nix/other counts the builders there", async () => {
    const c = await facts(
      { "/etc/nix/machines": "@/etc/nix/other\n", "/etc/nix/other": "ssh://a x86_64-linux\nssh://b aarch64-linux\n" },
      "2.29.0",
    );
    const local = localFacts("2.29.0");
    const view = buildersView(c);
    expect(buildersCheck(local, c, view)).toMatchObject({ status: "ok" });
    expect(buildersCheck(local, c, view).observed).toMatch(/2 builders$/);
    expect(configuredBuilders(c, view)).toBe(2);
    const machines = machinesFileCheck(local, c, view);
    expect(machines.status).toBe("ok");
    expect(machines.observed).toContain("/etc/nix/other (included from /etc/nix/machines:1): 2 builders");
  });

  it("a bad line in an included file fails the check with its file:line", async () => {
    const c = await facts(
      { "/etc/nix/machines": "@/etc/nix/other\n", "/etc/nix/other": "ssh://a x86_64-linux\nssh://b - - eight\n" },
      "2.29.0",
    );
    const check = machinesFileCheck(localFacts("2.29.0"), c, buildersView(c));
    expect(check.status).toBe("fail");
    expect(check.observed).toMatch(/^\/etc\/nix\/other:2:\d+: bad machine specification/);
  });

  it("a line the installed Nix rejects fails even if a newer Nix accepts it, naming that version", async () => {
    const files = { "/etc/nix/machines": "ssh://a x86_64-linux - 1 2.5\n   # spare\n" };
    const old = await facts(files, "2.8.0");
    const check = machinesFileCheck(localFacts("2.8.0"), old, buildersView(old));
    expect(check.status).toBe("fail");
    expect(check.observed).toMatch(
      /\/etc\/nix\/machines:1:\d+: .*'unsigned int'.*the installed Nix 2\.8\.0 rejects it; Nix 2\.20–2\.28 would accept it/,
    );
    expect(check.observed).toMatch(
      /\/etc\/nix\/machines:2:1: .*store URL was not found.*Nix 2\.8\.0 rejects it; Nix 2\.29 and later would accept it/,
    );
    const now = await facts(files, "2.29.0");
    expect(machinesFileCheck(localFacts("2.29.0"), now, buildersView(now)).status).toBe("ok");
  });

  it("warns about lines old Nix reads differently: a builder after '#', and ' @file'", async () => {
    const c = await facts(
      {
        "/etc/nix/machines": "ssh://a x86_64-linux # old ; ssh://b x86_64-linux\nssh://c x86_64-linux ; @/etc/nix/x\n",
      },
      "2.8.0",
    );
    const check = machinesFileCheck(localFacts("2.8.0"), c, buildersView(c));
    expect(check.status).toBe("warn");
    expect(check.observed).toMatch(/machines:1: Nix 2\.8\.0 reads 'ssh:\/\/b x86_64-linux' after the '#' as a builder/);
    expect(check.observed).toMatch(
      /machines:2: Nix 2\.8\.0 reads '@\/etc\/nix\/x' as a builder whose store URI is '@\/etc\/nix\/x', not as an include/,
    );
  });

  it("an include cycle fails", async () => {
    const c = await facts(
      { "/etc/nix/machines": "ssh://a x86_64-linux\n@/etc/nix/loop\n", "/etc/nix/loop": "@/etc/nix/machines\n" },
      "2.29.0",
    );
    const check = machinesFileCheck(localFacts("2.29.0"), c, buildersView(c));
    expect(check.status).toBe("fail");
    expect(check.observed).toMatch(/closes an include cycle/);
  });
});
