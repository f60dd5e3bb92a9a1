/**
 * The Nix machines file and the `builders` setting value (reference §1, §2): a lossless model,
 * crossnix's tagged edits, and the entry grammar. Split across src/core/machines/.
 */
export {
  type BuildersItem,
  ensureBuildersIncludes,
  parseBuildersValue,
} from "./machines/builders.js";
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
