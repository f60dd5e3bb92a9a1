// crossnix integration test bed: real sshd builders with their own Nix stores on loopback,
// a local root nix-daemon in a sandbox root, probe derivations, and fault switches.
// See README.md in this directory.
export {
  ALL_FAULTS,
  Builder,
  type BuilderOptions,
  emulatedSystem,
  type Fault,
  hostSystem,
  type StartBuildersOptions,
  startBuilders,
} from "./builder.js";
export { clientIdentity, type Identity, makeIdentity } from "./identity.js";
export {
  BUSYBOX_DIR,
  buildProbe,
  NIX_DIR,
  newNonce,
  type ProbeBuild,
  type ProbeOptions,
  type ProbeOutput,
  type ProbeSystem,
  parseProbe,
  probeArgs,
} from "./probe.js";
export type { ExecResult } from "./proc.js";
export { assertTestbedReady, testbedProblems } from "./requirements.js";
export {
  type CacheMode,
  CacheServer,
  type CacheServerOptions,
  type MakeCacheOptions,
  makeCache,
  makeSigningKey,
  type SigningKey,
} from "./cache-server.js";
export { getRun, stopAll, TESTBED_ROOT } from "./run.js";
export {
  BASE_NIX_CONF,
  createSandbox,
  DAEMON_SOCKET,
  DEFAULT_DAEMON_ENV,
  Sandbox,
  type SandboxOptions,
  type SandboxRunOptions,
} from "./sandbox.js";
export { LimaStandin, type LimaStandinOptions } from "./lima-standin.js";
export { type CpuQuota, limitCpu } from "./cpu-quota.js";
export { type CpuAccount, accountCpu } from "./cpu-account.js";
