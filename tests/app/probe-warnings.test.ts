// Doctor's checks of the facts a builder probe gathers.
import { describe, expect, it } from "vitest";
import { probeWarnings } from "../../src/app/builders/probe.js";
import { fleetFromMachines } from "../../src/core/builders/fleet.js";
import { parseMachinesFile } from "../../src/core/formats/machines/index.js";
import { PROBE_BEGIN, PROBE_END, parseProbeOutput } from "../../src/core/builders/probe.js";

const builder = fleetFromMachines([
  {
    path: "/etc/nix/machines",
    model: parseMachinesFile("ssh-ng://one aarch64-linux - 2 # crossnix:one\n", "/etc/nix/machines"),
  },
])[0]!;

const facts = (lines: string[], noise = "") =>
  parseProbeOutput(`${noise}${PROBE_BEGIN}\n${lines.join("\n")}\n${PROBE_END}\n`)!;
const healthy = ["user=nix", "nix-daemon=/usr/bin/nix-daemon", "conf-system = aarch64-linux", "store-writable=yes"];

describe("builder probe warnings (doctor's checks of the probed facts)", () => {
  it("says nothing about a healthy builder", () => {
    expect(probeWarnings(builder, facts(healthy), "aarch64-darwin")).toEqual([]);
  });

  it("names a noisy shell, a missing nix-daemon, an untrusted user and a missing system", () => {
    const warnings = probeWarnings(
      builder,
      facts(
        [
          "user=nix",
          "nix-daemon=",
          "candidate=/nix/var/nix/profiles/default/bin",
          "conf-system = x86_64-linux",
          "daemon-socket=yes",
          "conf-trusted-users = root",
        ],
        "Welcome!\n",
      ),
      "aarch64-darwin",
    );
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toContain("/nix/var/nix/profiles/default/bin/nix-daemon");
    expect(warnings[1]).toContain("Welcome!");
    expect(warnings[2]).toContain("nix is not a trusted user");
    expect(warnings[3]).toContain("aarch64-linux");
  });
});
