// The root side of the sudo hand-off takes only the plan crossnix just wrote, and only what crossnix plans.
import { chmod, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dedicatedKeyCommand } from "../../src/core/builders/plan.js";
import { emptyPlan, type Plan } from "../../src/core/plan/plan.js";
import { isPlanOutdated, planOutdated } from "../../src/errors.js";
import { errorReportedByRoot } from "../../src/host/plan/apply.js";
import { isPlannedCommand, planDigest, readHandedOffPlan } from "../../src/host/plan/handoff.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "crossnix-handoff-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const env = { SUDO_UID: String(process.getuid?.() ?? 0) };

async function planFile(plan: Plan, mode = 0o600): Promise<{ file: string; digest: string }> {
  const file = path.join(dir, "plan.json");
  const bytes = Buffer.from(JSON.stringify(plan));
  await writeFile(file, bytes, { mode });
  await chmod(file, mode);
  return { file, digest: planDigest(bytes) };
}

function addPlan(): Plan {
  const plan = emptyPlan("add b");
  plan.files.push({ path: "/etc/nix/machines", before: null, after: "ssh-ng://b x86_64-linux\n", reason: "" });
  plan.files.push({ path: "/etc/ssh/ssh_config.d/crossnix.conf", before: null, after: "Host b\n", reason: "" });
  plan.commands.push({ argv: ["systemctl", "restart", "nix-daemon.service"], description: "restart" });
  plan.commands.push(dedicatedKeyCommand("b", "/etc/nix/crossnix/b_ed25519"));
  return plan;
}

describe("internal apply-plan's trust check", () => {
  it("accepts the plan crossnix wrote, with its digest", async () => {
    const { file, digest } = await planFile(addPlan());
    await expect(readHandedOffPlan(file, digest, env, "/")).resolves.toMatchObject({ title: "add b" });
  });

  it("refuses a missing or wrong digest, a file others can read, a symlink, and a file of another owner", async () => {
    const { file, digest } = await planFile(addPlan());
    await expect(readHandedOffPlan(file, undefined, env, "/")).rejects.toThrow(/--sha256 <digest> is required/);
    await expect(readHandedOffPlan(file, "0".repeat(64), env, "/")).rejects.toThrow(/SHA-256 differs/);
    await expect(readHandedOffPlan(file, digest, { SUDO_UID: "4242" }, "/")).rejects.toThrow(
      /owned by uid \d+, not by the user who ran crossnix \(uid 4242\)/,
    );
    await chmod(file, 0o644);
    await expect(readHandedOffPlan(file, digest, env, "/")).rejects.toThrow(
      /readable or writable by others \(mode 644\)/,
    );
    await chmod(file, 0o600);
    await symlink(file, path.join(dir, "link.json"));
    await expect(readHandedOffPlan(path.join(dir, "link.json"), digest, env, "/")).rejects.toThrow(
      /not a regular file/,
    );
  });

  it("refuses files outside what crossnix changes, and commands crossnix never plans", async () => {
    for (const target of ["/etc/passwd", "/etc/nix/../shadow", "relative/file", "/etc/nixos/configuration.nix"]) {
      const plan = emptyPlan("evil");
      plan.files.push({ path: target, before: null, after: "x", reason: "" });
      const { file, digest } = await planFile(plan);
      await expect(readHandedOffPlan(file, digest, env, "/")).rejects.toThrow(
        /which crossnix never changes through sudo/,
      );
    }
    for (const argv of [
      ["sh", "-c", "id"],
      ["systemctl", "restart", "sshd.service"],
      ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "crossnix-x", "-f", "/root/.ssh/id_ed25519"],
    ]) {
      const plan = emptyPlan("evil");
      plan.commands.push({ argv, description: "" });
      const { file, digest } = await planFile(plan);
      await expect(readHandedOffPlan(file, digest, env, "/")).rejects.toThrow(/which crossnix never plans/);
    }
  });

  it("a key is made only at its builder's path under the root in use", () => {
    const keygen = (f: string) => ({
      argv: ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "crossnix-b", "-f", f],
      creates: [f, `${f}.pub`],
      description: "",
    });
    expect(isPlannedCommand(keygen("/tmp/r/etc/nix/crossnix/b_ed25519"), "/tmp/r")).toBe(true);
    expect(isPlannedCommand(keygen("/etc/nix/crossnix/b_ed25519"), "/tmp/r")).toBe(false);
    expect(isPlannedCommand(keygen("/etc/nix/crossnix/c_ed25519"), "/")).toBe(false);
  });
});

describe("what a handed-off command may say it creates (undo removes it)", () => {
  it("a key command only its key and .pub; a restart nothing", () => {
    const key = "/etc/nix/crossnix/b_ed25519";
    const keygen = {
      argv: ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "crossnix-b", "-f", key],
      description: "",
    };
    expect(isPlannedCommand({ ...keygen, creates: [key, `${key}.pub`] }, "/")).toBe(true);
    expect(isPlannedCommand({ ...keygen, creates: [key, "/etc/passwd"] }, "/")).toBe(false);
    const restart = { argv: ["systemctl", "restart", "nix-daemon.service"], description: "" };
    expect(isPlannedCommand(restart, "/")).toBe(true);
    expect(isPlannedCommand({ ...restart, creates: ["/etc/shadow"] }, "/")).toBe(false);
  });
});

describe("an error root reports back through the hand-off", () => {
  it("keeps its code, hint and detail, so an outdated plan is still recognised and re-planned", () => {
    const stdout = JSON.stringify({ error: planOutdated("/etc/nix/machines").toJSON() });
    const error = errorReportedByRoot(stdout);
    expect(error).toMatchObject({ code: "CONFLICT", hint: "run the command again", exitCode: 1 });
    expect(isPlanOutdated(error)).toBe(true);
    expect(errorReportedByRoot("sudo: a password is required")).toBeNull();
  });
});
