// The builder use cases (app/builders) in-process on a temp-rooted machine, no SSH: add, enable/disable, remove, list, probe, and a builder's plan through the runner.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { addBuilder } from "../../src/app/builders/add.js";
import { setBuilderEnabled } from "../../src/app/builders/enable.js";
import { listBuilders } from "../../src/app/builders/list.js";
import { probeBuilders } from "../../src/app/builders/probe.js";
import { runPlan } from "../../src/app/plan-runner.js";
import { removeBuilder } from "../../src/app/builders/remove.js";
import type { Context, GlobalOptions } from "../../src/context.js";
import { type AddFlags, parseBuilderRequest } from "../../src/core/builders/request.js";
import { CrossnixError } from "../../src/errors.js";
import { createHost } from "../../src/host/system/host.js";
import type { Prompter } from "../../src/ui/prompt.js";

const MACHINES = "# hand-written, keep me\nssh://old@legacy x86_64-linux - 2 1 big-parallel\n\n# trailing comment\n";
const NIX_CONF = "# upstream nix.conf\nbuild-users-group = nixbld\nbuilders = @/etc/nix/machines\n";
const SSH_CONFIG = "Host *\n  SendEnv LANG\n";

let root: string;
let hostKeyB64: string;

/** A person at a terminal who gives these answers, in order (and records the questions). */
function scriptedPrompter(answers: (boolean | string)[], interactive = true): Prompter & { asked: string[] } {
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

/** A context on the temp root, every line it shows captured. */
function context(options: Partial<GlobalOptions> = {}, prompt: Prompter = scriptedPrompter([], false)) {
  const seen = { out: [] as string[], warn: [] as string[], progress: [] as string[] };
  const ctx: Context = {
    host: createHost({ ...process.env, CROSSNIX_ROOT: root, CROSSNIX_PLATFORM: "linux" }),
    options: { json: false, dryRun: false, yes: true, verbose: false, color: false, timeout: 5, ...options },
    prompt,
    out: (text) => seen.out.push(text),
    warn: (line) => seen.warn.push(line),
    progress: (line) => seen.progress.push(line),
    debug: () => {},
  };
  return { ctx, seen };
}

/** Every file under the root but crossnix's own records (backups, history, journal, lock). */
async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(root, full);
      if (/^etc\/nix\/crossnix\/(backups|history|journal|\.lock)/.test(rel)) continue;
      if (entry.isDirectory()) await walk(full);
      else out[rel] = await readFile(full, "latin1");
    }
  }
  await walk(root);
  return out;
}

const offline = (flags: AddFlags = {}) =>
  parseBuilderRequest("nix@127.0.0.5:2205", {
    name: "big",
    system: ["x86_64-linux"],
    maxJobs: "4",
    probe: false,
    hostKey: hostKeyB64,
    ...flags,
  });

beforeAll(async () => {
  const keyDir = await mkdtemp(path.join(os.tmpdir(), "crossnix-app-hostkey-"));
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(keyDir, "k")]);
  const pub = (await readFile(path.join(keyDir, "k.pub"), "utf8")).split(" ").slice(0, 2).join(" ");
  hostKeyB64 = Buffer.from(pub).toString("base64");
  await rm(keyDir, { recursive: true });
});

beforeEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = await mkdtemp(path.join(os.tmpdir(), "crossnix-app-builders-"));
  await mkdir(path.join(root, "etc/nix"), { recursive: true });
  await mkdir(path.join(root, "etc/ssh"), { recursive: true });
  await writeFile(path.join(root, "etc/nix/machines"), MACHINES);
  await writeFile(path.join(root, "etc/nix/nix.conf"), NIX_CONF);
  await writeFile(path.join(root, "etc/ssh/ssh_config"), SSH_CONFIG);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("addBuilder then removeBuilder", () => {
  it("--no-probe --host-key registers without any connection; remove gives back the machines file and ssh config byte for byte", async () => {
    const before = await snapshot();
    const { ctx, seen } = context();
    const added = await addBuilder(ctx, offline());
    expect(added.outcome.applied).toBe(true);
    expect(added.verified).toBeNull();
    expect(added.probed).toBeNull();
    expect(added.entry.uri).toBe("ssh-ng://big");
    expect(added.hostKey.fingerprint).toMatch(/^SHA256:/);
    expect(seen.out.join("")).toContain("+++ b/etc/nix/machines");
    expect(seen.progress.some((l) => l.startsWith("Asking"))).toBe(false);
    const machines = await readFile(path.join(root, "etc/nix/machines"), "utf8");
    expect(machines.startsWith(MACHINES)).toBe(true);
    expect(machines).toMatch(/^ssh-ng:\/\/big x86_64-linux \/etc\/nix\/crossnix\/big_ed25519 4 .* # crossnix:big$/m);

    const removed = await removeBuilder(context().ctx, { name: "big" });
    expect(removed.outcome.applied).toBe(true);
    // The entry, alias, pinned key and generated key go; the settings add made for every builder stay.
    const after = await snapshot();
    for (const file of ["etc/nix/machines", "etc/ssh/ssh_config"]) expect(after[file]).toBe(before[file]);
    expect(after["etc/ssh/ssh_config.d/crossnix.conf"]).toBe("");
    expect(after["etc/nix/crossnix/known_hosts"]).toBe("");
    expect(Object.keys(after).filter((f) => f.includes("big_ed25519"))).toEqual([]);
    expect(after["etc/nix/nix.conf"]).toBe(
      `${NIX_CONF}# crossnix: builders fetch inputs from their own caches\nbuilders-use-substitutes = true\n`,
    );
    const again = await removeBuilder(context().ctx, { name: "big" });
    expect(again.outcome.noop).toBe(true);
  });

  it("--dry-run shows the plan and writes nothing", async () => {
    const before = await snapshot();
    const { ctx, seen } = context({ dryRun: true, yes: false });
    const added = await addBuilder(ctx, offline());
    expect(added.outcome).toMatchObject({ applied: false, noop: false });
    expect(seen.out.join("")).toContain("ssh-keygen -q -t ed25519");
    expect(await snapshot()).toEqual(before);
  });

  it("with no terminal and no --yes: NOT_APPLIED, nothing written; a person who says no: the same", async () => {
    const before = await snapshot();
    const refused = await addBuilder(context({ yes: false }).ctx, offline()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CrossnixError);
    expect((refused as CrossnixError).code).toBe("NOT_APPLIED");
    const prompt = scriptedPrompter([false]);
    const declined = await addBuilder(context({ yes: false }, prompt).ctx, offline()).catch((e: unknown) => e);
    expect((declined as CrossnixError).message).toBe("cancelled; nothing was written");
    expect(prompt.asked).toEqual(["Apply these changes?"]);
    expect(await snapshot()).toEqual(before);
  });

  it("--setup-remote needs a probe: BAD_INPUT (exit 2) before anything is written", async () => {
    const before = await snapshot();
    const error = (await addBuilder(context().ctx, offline({ setupRemote: true })).catch(
      (e: unknown) => e,
    )) as CrossnixError;
    expect([error.code, error.exitCode]).toEqual(["BAD_INPUT", 2]);
    expect(await snapshot()).toEqual(before);
  });
});

describe("setBuilderEnabled", () => {
  it("disable and enable are idempotent, and enable restores the bytes", async () => {
    await addBuilder(context().ctx, offline());
    const enabled = await snapshot();
    const first = await setBuilderEnabled(context().ctx, { name: "big", enabled: false });
    expect(first.outcome.applied).toBe(true);
    const disabled = await snapshot();
    expect(disabled["etc/nix/machines"]).toMatch(/^# crossnix-disabled: ssh-ng:\/\/big /m);
    const second = await setBuilderEnabled(context().ctx, { name: "big", enabled: false });
    expect(second.outcome).toMatchObject({ noop: true, applied: false });
    expect(await snapshot()).toEqual(disabled);

    await setBuilderEnabled(context().ctx, { name: "big", enabled: true });
    expect(await snapshot()).toEqual(enabled);
    const again = await setBuilderEnabled(context().ctx, { name: "big", enabled: true });
    expect(again.outcome.noop).toBe(true);
    expect(await snapshot()).toEqual(enabled);
  });

  it("an unknown name is NOT_FOUND, exit 2, naming the builders crossnix knows", async () => {
    await addBuilder(context().ctx, offline());
    for (const enabled of [true, false]) {
      const error = (await setBuilderEnabled(context().ctx, { name: "nope", enabled }).catch(
        (e: unknown) => e,
      )) as CrossnixError;
      expect([error.code, error.exitCode, error.message]).toEqual(["NOT_FOUND", 2, "no builder named 'nope'"]);
      expect(error.hint).toBe("known: big");
    }
  });

  it("an entry crossnix did not write is a CONFLICT, left alone", async () => {
    const before = await snapshot();
    const error = (await setBuilderEnabled(context().ctx, { name: "legacy", enabled: false }).catch(
      (e: unknown) => e,
    )) as CrossnixError;
    expect(error.code).toBe("CONFLICT");
    expect(await snapshot()).toEqual(before);
  });
});

describe("listBuilders and probeBuilders", () => {
  it("lists every entry, crossnix's and hand-written", async () => {
    await addBuilder(context().ctx, offline());
    const listing = await listBuilders(context().ctx);
    expect(listing.builders.map((b) => [b.name, b.managed, b.enabled])).toEqual([
      ["legacy", false, true],
      ["big", true, true],
    ]);
    expect(listing.machinesPath).toBe("/etc/nix/machines");
    expect(listing.problems).toEqual([]);
  });

  it("probe of an unknown name is NOT_FOUND (exit 2) before any connection", async () => {
    const { ctx, seen } = context();
    const error = (await probeBuilders(ctx, { names: ["nope"] }).catch((e: unknown) => e)) as CrossnixError;
    expect([error.code, error.exitCode]).toEqual(["NOT_FOUND", 2]);
    expect(seen.progress).toEqual([]);
  });
});

describe("a plan for a builder, through the plan runner", () => {
  const plan = () => ({
    title: "Make 'alice' a trusted user of the Nix daemon on box",
    files: [{ path: "/etc/nix/nix.conf", machine: "box", before: "a\n", after: "b\n", reason: "trusted-users" }],
    commands: [],
    notes: [],
  });
  const applier = (applied: string[]) => ({
    where: "box",
    async apply() {
      applied.push("box");
      return { written: ["box:/etc/nix/nix.conf"], deleted: [], backups: [], commands: [] };
    },
  });

  it("is shown as box:/path once, refused without a terminal naming the machine, applied by its applier", async () => {
    const applied: string[] = [];
    const { ctx, seen } = context({ yes: false });
    const refused = (await runPlan(ctx, plan(), { applier: applier(applied) }).catch(
      (e: unknown) => e,
    )) as CrossnixError;
    expect(refused.message).toBe("no terminal to confirm the change on box, so nothing was written");
    const shown = seen.out.join("");
    expect(shown).toContain("modify box:/etc/nix/nix.conf");
    expect(shown).toContain("--- box:/etc/nix/nix.conf\n+++ box:/etc/nix/nix.conf\n");
    expect(shown.split("\n")[0]).toBe("Make 'alice' a trusted user of the Nix daemon on box");
    const prompt = scriptedPrompter([true]);
    const outcome = await runPlan(context({ yes: false }, prompt).ctx, plan(), { applier: applier(applied) });
    expect(prompt.asked).toEqual(["Apply these changes on box?"]);
    expect([outcome.applied, outcome.plan.files[0]?.path, applied]).toEqual([true, "box:/etc/nix/nix.conf", ["box"]]);
  });

  it("is never applied on this machine", async () => {
    await expect(runPlan(context().ctx, plan())).rejects.toThrow("a plan for box cannot be applied on this machine");
  });
});
