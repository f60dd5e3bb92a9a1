// The CLI entry point: help, version, global options, exit codes and --json errors.
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

describe("crossnix entry point", () => {
  it("prints the package version", async () => {
    const run = await runCli(["--version"]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it("exits 2 with a suggestion for a misspelt verb", async () => {
    const run = await runCli(["buider", "list"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown command 'buider'/);
    expect(run.stderr).toMatch(/Did you mean builder\?/);
  });

  it("exits 2 for an unknown option", async () => {
    const run = await runCli(["--frobnicate"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown option '--frobnicate'");
  });

  it("lists the built verbs and hides plumbing", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    const verbs = [...run.stdout.matchAll(/^ {2}(\w[\w-]*)/gm)].map((m) => m[1]);
    expect(verbs).toContain("builder");
    expect(verbs).not.toContain("internal");
  });

  it("rejects a bad --timeout as bad usage", async () => {
    const run = await runCli(["--timeout", "-3", "builder", "list"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("must be a positive number of seconds");
  });

  it.each([
    [["--json", "builder", "remove"], /missing required argument 'name'/],
    [["--json", "--frobnicate"], /unknown option '--frobnicate'/],
    [["--json", "buider", "list"], /unknown command 'buider'/],
    [["--json", "--timeout", "-3", "builder", "list"], /must be a positive number of seconds/],
    [["builder", "list", "--json", "--nope"], /unknown option '--nope'/],
  ])("with --json a usage error %j prints one JSON error document on stdout, exit 2", async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe("USAGE");
    expect(doc.error.message).toMatch(message);
    expect(run.stderr).toMatch(message);
  });
});
