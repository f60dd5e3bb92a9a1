/**
 * The Nix machines file and the `builders` setting value (docs/nix-machines-file.md): a lossless
 * model, crossnix's tagged edits, the entry grammar of each Nix version, and `@file` includes.
 * Split across src/core/machines/.
 */
export {
  type BuildersItem,
  ensureBuildersIncludes,
  parseBuildersValue,
} from "./machines/builders.js";
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
} from "./machines/dialect.js";
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
} from "./machines/entry.js";
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
} from "./machines/file.js";
export { parseMachinesTolerant, type TolerantMachines } from "./machines/tolerant.js";
export {
  type IncludeProblem,
  type IncludeSite,
  type MachinesRead,
  type MachinesSource,
  type MachinesTree,
  reachableFiles,
  readMachinesTree,
} from "./machines/tree.js";
