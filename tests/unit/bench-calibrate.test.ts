// Calibration from bench figures: speed factors as relative throughput (whole numbers before Nix
// 2.20), max-jobs where parallel throughput stops rising, cores to pair, the poll interval; and the
// benchmark derivation's text.
import { describe, expect, it } from "vitest";
import { benchExpression } from "../../src/core/bench/derivation.js";
import { calibrate } from "../../src/core/bench/calibrate.js";
import { planCalibration } from "../../src/core/bench/plan.js";
import { type BuilderBench, isNoisy, spread, systemBench } from "../../src/core/bench/results.js";
import { fleetFromMachines } from "../../src/core/builders/fleet.js";
import { machinesDialect, parseMachinesFile } from "../../src/core/formats/machines/index.js";
import { parseNixConf } from "../../src/core/formats/nix-conf.js";

const MACHINES = [
  "ssh-ng://fast x86_64-linux /k 2 1 - - - # crossnix:fast",
  "ssh-ng://slow x86_64-linux /k 2 1 - - - # crossnix:slow",
  "ssh-ng://theirs x86_64-linux /k 2 1 - - -",
  "",
].join("\n");

/** A builder whose unit takes `unit` s alone and `parallel` s for `jobs` at once (latency 0.3 s added). */
function measured(name: string, cpus: number, unit: number, jobs: number, parallel: number): BuilderBench {
  return {
    name,
    status: "measured",
    reason: null,
    cpus,
    nixVersion: "2.8.0",
    roundTrip: spread([0.1]),
    upload: 1e8,
    download: 1e8,
    systems: [systemBench("x86_64-linux", jobs, { latency: [0.3], one: [0.3 + unit], parallel: [0.3 + parallel] })],
  };
}

function setup(version: string) {
  const dialect = machinesDialect(version);
  const model = parseMachinesFile(MACHINES, "/etc/nix/machines", dialect);
  return { dialect, model, fleet: fleetFromMachines([{ path: "/etc/nix/machines", model }], dialect) };
}

describe("calibrate", () => {
  // fast: 2 CPUs, 1 s a unit, 2 at once in 1 s (2 units/s); slow: a quarter CPU, 4 s a unit, 2 at once in 8 s.
  const figures = [measured("fast", 2, 1, 2, 1), measured("slow", 2, 4, 2, 8)];

  it("on Nix 2.8 proposes whole speed factors in throughput order, the slowest 1", () => {
    const { dialect, fleet } = setup("2.8.0");
    const c = calibrate(figures, fleet, { dialect, version: "2.8.0" }, null);
    const by = Object.fromEntries(c.entries.map((e) => [e.name, e]));
    expect(by["fast"]!.speedFactor.value).toBe(8);
    expect(by["slow"]!.speedFactor.value).toBe(1);
    expect(by["fast"]!.speedFactor.why).toContain("8× slow's 0.25");
  });

  it("on Nix 2.20+ keeps a fractional factor", () => {
    const { dialect, fleet } = setup("2.24.0");
    const c = calibrate(
      [measured("fast", 2, 1, 2, 1), measured("slow", 2, 1.5, 2, 1.5)],
      fleet,
      { dialect, version: "2.24.0" },
      5,
    );
    expect(c.entries.find((e) => e.name === "fast")!.speedFactor.value).toBe(1.5);
  });

  it("max-jobs stops where throughput stops rising; cores pair with it; the poll interval is explained", () => {
    const { dialect, fleet } = setup("2.8.0");
    const c = calibrate(figures, fleet, { dialect, version: "2.8.0" }, null);
    const by = Object.fromEntries(c.entries.map((e) => [e.name, e]));
    expect([by["fast"]!.maxJobs.value, by["slow"]!.maxJobs.value]).toEqual([2, 1]);
    expect(by["slow"]!.maxJobs.why).toMatch(/^2 at a time gave 1× the throughput of one/);
    expect([by["fast"]!.cores?.value, by["slow"]!.cores?.value]).toEqual([1, 2]);
    expect(c.pollInterval).toMatchObject({ value: 1, current: null });
    expect(c.pollInterval?.why).toContain("every 5 s");
  });

  it("proposes no poll interval when it is already 1", () => {
    const { dialect, fleet } = setup("2.8.0");
    expect(calibrate(figures, fleet, { dialect, version: "2.8.0" }, 1).pollInterval).toBeNull();
  });

  it("proposes 0 only when asked, explained by the measured cost of retrying on every output chunk", () => {
    const { dialect, fleet } = setup("2.8.0");
    const asked = calibrate(figures, fleet, { dialect, version: "2.8.0" }, 1, 0);
    expect(asked.pollInterval).toMatchObject({ value: 0, current: 1 });
    expect(asked.pollInterval?.why).toMatch(/retried as soon as any build prints or ends/);
    expect(asked.pollInterval?.why).toMatch(/µs per waiting build per line of output/);
    // Unasked, a user's 0 is left alone; the default proposal names what 0 would cost.
    expect(calibrate(figures, fleet, { dialect, version: "2.8.0" }, 0).pollInterval).toBeNull();
    expect(calibrate(figures, fleet, { dialect, version: "2.8.0" }, 5).pollInterval?.why).toMatch(
      /0 would retry every waiting build on every chunk of output/,
    );
    expect(calibrate(figures, fleet, { dialect, version: "2.8.0" }, 0, 0).pollInterval).toBeNull();
  });

  it("plans edits only to crossnix's entries, and the setting with a daemon restart", () => {
    const { dialect, fleet, model } = setup("2.8.0");
    const c = calibrate([...figures, measured("theirs", 2, 1, 2, 1)], fleet, { dialect, version: "2.8.0" }, null);
    const conf = "max-jobs = 0\n";
    const plan = planCalibration(
      {
        machines: { path: "/etc/nix/machines", text: MACHINES, model },
        settings: { path: "/etc/nix/nix.conf", text: conf, model: parseNixConf(conf, "/etc/nix/nix.conf") },
        systemLayers: [],
        readOnlyReason: null,
        daemonReload: { argv: ["systemctl", "restart", "nix-daemon"], description: "restart" },
      },
      c,
    );
    const machines = plan.files.find((f) => f.path === "/etc/nix/machines")!.after!;
    expect(machines.split("\n")).toEqual([
      "ssh-ng://fast x86_64-linux /k 2 8 # crossnix:fast",
      "ssh-ng://slow x86_64-linux /k 1 1 # crossnix:slow",
      "ssh-ng://theirs x86_64-linux /k 2 1 - - -",
      "",
    ]);
    expect(plan.files.find((f) => f.path === "/etc/nix/nix.conf")!.after).toMatch(/^build-poll-interval = 1$/m);
    expect(plan.commands.map((x) => x.argv.join(" "))).toEqual(["systemctl restart nix-daemon"]);
    expect(plan.notes.join("\n")).toContain("theirs: set speed factor 8 and max-jobs 2 in its entry yourself");
    expect(plan.notes.join("\n")).toContain("'cores = 1'");
  });
});

describe("bench figures", () => {
  it("spread and noise", () => {
    expect(spread([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3, n: 3 });
    expect(isNoisy(spread([1, 1.1, 1.2]))).toBe(false);
    expect(isNoisy(spread([1, 1.1, 1.5]))).toBe(true);
  });

  it("the derivation: unique per nonce, /bin/sh only, refuses anything that is not a plain word", () => {
    const e = benchExpression("aarch64-linux", ["n1", "n2"], 5, ["kvm"]);
    expect(e.match(/derivation \{/g)).toHaveLength(2);
    expect(e).toContain('name = "crossnix-bench-n1"');
    expect(e).toContain('builder = "/bin/sh"');
    expect(e).toContain("allowSubstitutes = false");
    expect(e).toContain('requiredSystemFeatures = [ "kvm" ]');
    expect(() => benchExpression("x86_64-linux", ['a"; builtins.exec'], 5)).toThrow(/not a plain word/);
  });
});
