// Vitest glue: register cleanup so a failing test still stops every server.
import { afterAll } from "vitest";
import { testbedProblems } from "./requirements.js";
import { stopAll } from "./run.js";

/**
 * Call at the top of an integration test file. Registers afterAll(stopAll). Returns false
 * (so the file can skip) only when CROSSNIX_SKIP_INTEGRATION=1 and the machine is not
 * ready; otherwise a machine that is not ready fails loudly.
 */
export function useTestBed(): boolean {
  afterAll(() => stopAll(), 120_000);
  const problems = testbedProblems();
  if (problems.length === 0) return true;
  if (process.env["CROSSNIX_SKIP_INTEGRATION"] === "1") return false;
  return true; // assertTestbedReady() in beforeAll reports what is missing
}
