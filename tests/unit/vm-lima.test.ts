// What crossnix reads from and says to limactl: versions, `list --json` lines of 1.x and 2.x, create and autostart argv, vm create's flags.
import { describe, expect, it } from "vitest";
import {
  autostartArgv,
  choosePort,
  createArgv,
  limaMessage,
  parseLimaList,
  parseLimaVersion,
  parseVmRequest,
} from "../../src/core/vm/lima.js";
import { guestNixScript } from "../../src/core/vm/guest-nix.js";

// The reference line of Lima 2.1 (docs/lima.md#list), `config` abbreviated.
const V2_LINE =
  '{"name":"nixbuilder","hostname":"lima-nixbuilder","status":"Running","dir":"/Users/alice/.lima/nixbuilder","vmType":"vz","arch":"aarch64","cpus":4,"memory":8589934592,"disk":107374182400,"sshLocalPort":31322,"sshConfigFile":"/Users/alice/.lima/nixbuilder/ssh.config","hostAgentPID":4242,"driverPID":4242,"config":{"vmType":"vz","vmOpts":{"vz":{"rosetta":{"enabled":true,"binfmt":true}}},"arch":"aarch64","cpus":4,"memory":"8GiB","disk":"100GiB","ssh":{"localPort":31322,"loadDotSSHPubKeys":false},"user":{"name":"alice","uid":501}},"sshAddress":"127.0.0.1","protected":false,"limaVersion":"2.1.0","HostOS":"darwin","HostArch":"aarch64","LimaHome":"/Users/alice/.lima","IdentityFile":"/Users/alice/.lima/_config/user"}';
const V1_STOPPED =
  '{"name":"old","hostname":"lima-old","status":"Stopped","dir":"/Users/alice/.lima/old","vmType":"vz","arch":"aarch64","cpuType":"","cpus":2,"memory":4294967296,"disk":107374182400,"sshLocalPort":60022,"config":{"rosetta":{"enabled":false,"binfmt":false},"user":{"name":"alice"}},"sshAddress":"127.0.0.1","protected":false,"limaVersion":"1.2.3"}';

describe("limactl output", () => {
  it("reads the version line", () => {
    expect(parseLimaVersion("limactl version 2.1.0\n")).toMatchObject({ major: 2, minor: 1, patch: 0 });
    expect(parseLimaVersion("nonsense")).toBeNull();
  });

  it("reads one JSON object per line (no array), Rosetta from v2's vmOpts or v1's top level", () => {
    const [a, b] = parseLimaList(`${V2_LINE}\n${V1_STOPPED}\n`);
    expect(a).toMatchObject({
      name: "nixbuilder",
      status: "Running",
      cpus: 4,
      sshLocalPort: 31322,
      rosetta: true,
      user: "alice",
    });
    expect(b).toMatchObject({ name: "old", status: "Stopped", rosetta: false, memoryBytes: 4294967296 });
    expect(parseLimaList("[]\n")).toEqual([]);
  });

  it("takes Lima's own message out of a logrus fatal line", () => {
    const stderr =
      'time="2026-12-02T10:00:00Z" level=info msg="x"\ntime="2026-12-02T10:00:01Z" level=fatal msg="instance `foo` already exists"\n';
    expect(limaMessage(stderr)).toBe("instance `foo` already exists");
    expect(limaMessage("limactl: must not run as the root user\n")).toBe("limactl: must not run as the root user");
  });
});

describe("what crossnix asks of limactl", () => {
  const spec = {
    name: "nb",
    cpus: 4,
    memoryGiB: 8,
    diskGiB: 100,
    rosetta: true,
    sshPort: 31322,
    template: "template://default",
  };
  it("pins the port with --ssh-port on 2.x and --set on 1.x", () => {
    const v2 = createArgv(parseLimaVersion("limactl version 2.0.0")!, spec);
    expect(v2).toEqual(
      expect.arrayContaining([
        "--tty=false",
        "--vm-type=vz",
        "--mount-none",
        "--containerd=none",
        "--rosetta",
        "--ssh-port",
        "31322",
      ]),
    );
    const v1 = createArgv(parseLimaVersion("limactl version 1.2.3")!, spec);
    expect(v1).toContain(".ssh.localPort = 31322");
    expect(v1).not.toContain("--ssh-port");
    expect(v1.slice(-2)).toEqual(["--", "template://default"]);
  });

  it("autostart: autostart enable on 2.2+, start-at-login before, boot only on 2.2+", () => {
    expect(autostartArgv(parseLimaVersion("limactl version 2.2.0")!, "nb", "boot")).toEqual([
      "limactl",
      "--tty=false",
      "autostart",
      "enable",
      "--condition=boot",
      "nb",
    ]);
    expect(autostartArgv(parseLimaVersion("limactl version 2.1.0")!, "nb", "login")).toContain("start-at-login");
    expect(autostartArgv(parseLimaVersion("limactl version 1.2.3")!, "nb", "boot")).toBeNull();
  });

  it("chooses a port from 31322 up, never 31022/31122/31222/60022 or a taken one", () => {
    expect(choosePort(new Set())).toBe(31322);
    expect(choosePort(new Set([31322, 31323]))).toBe(31324);
  });

  it("installs Nix only when missing, trusting the guest user, with x86_64-linux under Rosetta", () => {
    const script = guestNixScript("alice", true);
    expect(script).toContain("--extra-conf 'trusted-users = root alice'");
    expect(script).toContain("--extra-conf 'extra-platforms = x86_64-linux'");
    expect(guestNixScript("alice", false)).not.toContain("extra-platforms");
  });
});

describe("vm create's flags", () => {
  it("defaults: nixbuilder, Rosetta, both systems", () => {
    expect(parseVmRequest(undefined, {})).toMatchObject({
      name: "nixbuilder",
      rosetta: true,
      systems: ["aarch64-linux", "x86_64-linux"],
      autostart: "off",
    });
    expect(parseVmRequest("x", { rosetta: false })).toMatchObject({ systems: ["aarch64-linux"] });
  });
  it.each([
    ["Bad_Name", {}],
    ["ok", { cpus: "0" }],
    ["ok", { cpus: "2.5" }],
    ["ok", { memory: "1" }],
    ["ok", { disk: "5000" }],
    ["ok", { systems: "riscv64-linux" }],
    ["ok", { rosetta: false, systems: "x86_64-linux" }],
    ["ok", { autostart: "always" }],
    ["ok", { template: "--plain" }],
  ])("%s %j is exit 2", (name, flags) => {
    expect(() => parseVmRequest(name, flags)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});
