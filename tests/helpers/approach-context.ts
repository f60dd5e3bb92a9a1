// A use-case Context on a fixture root (tests/helpers/approach-fixtures.ts): every line shown captured,
// a scripted person at the terminal, and plan commands allowed to run (they reach only the stand-ins).
import { afterEach, vi } from "vitest";
import type { Context, GlobalOptions } from "../../src/context.js";
import { createHost } from "../../src/host/system/host.js";
import type { Prompter } from "../../src/ui/prompt.js";
import { type Fixture, type FixtureName, makeFixture } from "./approach-fixtures.js";

/**
 * For a test file: `open(name)` makes a fixture root and points PATH and the stand-ins' state at it
 * (the plan runner runs commands with the process's environment); each test's fixture is removed after it.
 */
export function fixtureOpener(): (name: FixtureName) => Promise<Fixture> {
  let fixture: Fixture | null = null;
  afterEach(async () => {
    vi.unstubAllEnvs();
    await fixture?.cleanup();
    fixture = null;
  });
  return async (name) => {
    fixture = await makeFixture(name);
    vi.stubEnv("PATH", fixture.env["PATH"]);
    vi.stubEnv("CROSSNIX_STANDIN_STATE", fixture.state);
    return fixture;
  };
}

/** A person who gives these answers in order (confirm takes booleans, ask and select take strings); records the questions. */
export function scriptedPrompter(answers: (boolean | string)[], interactive = true): Prompter & { asked: string[] } {
  const asked: string[] = [];
  return {
    interactive,
    asked,
    async confirm(question) {
      asked.push(question);
      return answers.shift() === true;
    },
    async ask(question) {
      asked.push(question);
      return String(answers.shift() ?? "");
    },
  };
}

export function fixtureContext(
  fixture: Fixture,
  options: Partial<GlobalOptions> = {},
  prompt: Prompter = scriptedPrompter([], false),
) {
  const seen = { out: [] as string[], warn: [] as string[], progress: [] as string[] };
  const ctx: Context = {
    host: createHost({ ...fixture.env, CROSSNIX_TEST_RUN_COMMANDS: "1" }),
    options: { json: false, dryRun: false, yes: true, verbose: false, color: false, timeout: 2, ...options },
    prompt,
    out: (text) => seen.out.push(text),
    warn: (line) => seen.warn.push(line),
    progress: (line) => seen.progress.push(line),
    debug: () => {},
  };
  return { ctx, seen };
}
