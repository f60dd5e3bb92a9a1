/** Doctor reads machines files tolerantly: see src/core/machines/tolerant.ts. */
export { parseMachinesTolerant, type TolerantMachines } from "../formats/machines/tolerant.js";
