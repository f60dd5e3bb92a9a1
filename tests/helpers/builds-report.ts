// Test helper: `crossnix builds --json` in the sandbox, with what the history tests read of it.
import { expect } from "vitest";
import type { Sandbox } from "#testbed";
import { crossnixIn } from "./sandbox-cli.js";

export interface BuildsJson {
  origins: { via: string; builds: number }[];
  builders: { name: string; succeeded: number }[];
  slowest: { name: string }[];
}

/** The build history report of the sandbox's user (XDG_STATE_HOME as crossnixIn sets it, unless `env` overrides). */
export async function buildsReportIn(sandbox: Sandbox, env: Record<string, string> = {}): Promise<BuildsJson> {
  const run = await crossnixIn(sandbox, ["builds", "--json"], { env });
  expect(run.exitCode, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as BuildsJson;
}

/** Builds recorded by one origin (build, doctor, bench); 0 with none. */
export const buildsBy = (report: BuildsJson, via: string) => report.origins.find((o) => o.via === via)?.builds ?? 0;

/** Successful builds recorded on one builder; 0 with none. */
export const succeededOn = (report: BuildsJson, builder: string) =>
  report.builders.find((b) => b.name === builder)?.succeeded ?? 0;
