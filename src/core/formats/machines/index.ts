/**
 * The Nix machines file and the `builders` setting value (docs/nix-machines-file.md): a lossless
 * model, crossnix's tagged edits, the entry grammar of each Nix version, and `@file` includes.
 * Split across src/core/machines/.
 */
export {
  type BuildersItem,
  ensureBuildersIncludes,
  parseBuildersValue,
} from "./builders.js";
export {
  allDialects,
  dialectRange,
  FRACTIONAL_SPEED_SINCE,
  type MachinesDialect,
  machinesDialect,
  NEWEST_DIALECT,
  nearestWholeSpeedFactor,
  newerDialects,
  speedFactorRefusal,
  speedFactorWritable,
} from "./dialect.js";
export {
  decodeHostKey,
  effectiveMaxJobs,
  effectiveSpeedFactor,
  encodeHostKey,
  formatEntry,
  isKnownSystem,
  type LineItem,
  looksLikeSystem,
  type MachineEntry,
  normalizeStoreUri,
  sameHostKey,
  validateEntry,
} from "./entry.js";
export {
  addEntry,
  type DisabledLine,
  type LocatedEntry,
  listEntries,
  listIncludes,
  type MachinesFile,
  type MachinesLine,
  parseMachinesFile,
  removeEntry,
  renderMachinesFile,
  setEntryEnabled,
} from "./file.js";
export { parseMachinesTolerant, type TolerantMachines } from "./tolerant.js";
export {
  type IncludeProblem,
  type IncludeSite,
  type MachinesRead,
  type MachinesSource,
  type MachinesTree,
  reachableFiles,
  readMachinesTree,
} from "./tree.js";
