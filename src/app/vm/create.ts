// `vm create`: a Lima VM as a local Linux builder, made step by step so an interrupted run resumes:
//   1. check    – macOS, Lima ≥ 1.0, the name free (or a half-made VM of ours to resume)
//   2. create   – limactl create, non-interactive, vz, no mounts, no containerd, pinned SSH port
//   3. start    – limactl start (boots; Lima's own timeout is 10 minutes)
//   4. nix      – install Nix in the guest (Determinate installer) with trusted-users and Rosetta's platform
//   5. host key – read the guest's ed25519 host key through limactl shell, to pin it
//   6. register – `builder add`'s own code path, with the VM record in the same plan
//   7. autostart, 8. a real build for each system
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Context } from "../../context.js";
import { parseBuilderRequest } from "../../core/builders/request.js";
import type { E2eResult } from "../../core/doctor/e2e.js";
import { quoteCommand } from "../../core/shell.js";
import { autostartArgv, choosePort, createArgv, type VmRequest } from "../../core/vm/lima.js";
import type { VmRecord } from "../../core/vm/record.js";
import { CrossnixError } from "../../errors.js";
import { runE2eBuild } from "../../host/doctor/e2e.js";
import { loadConfigState } from "../../host/state.js";
import { userStateDir } from "../../host/system/records.js";
import { findInstance, type Limactl, limaFailure, listInstances, openLimactl } from "../../host/vm/limactl.js";
import { readVmRecord, vmRecordChange } from "../../host/vm/records.js";
import { addBuilder } from "../builders/add.js";
import type { PlanOutcome } from "../plan-runner.js";
import { guestNixScript } from "../../core/vm/guest-nix.js";
import { limaHomeOf, portAnswers, requireMac, vmOwner, waitForSsh } from "../../host/vm/lima-host.js";

export type VmContext = Pick<Context, "host" | "options" | "prompt" | "progress" | "out" | "warn">;

export interface CreateVmResult {
  name: string;
  builderName: string;
  sshPort: number;
  lima: string;
  /** Steps done by this run, in order ("resumed" first when a half-made VM was picked up). */
  steps: string[];
  outcome: PlanOutcome | null;
  builds: { system: string; ok: boolean; seconds: number; detail: string }[];
  dryRun: boolean;
}

const MINUTES = 60_000;

export async function createVm(ctx: VmContext, request: VmRequest): Promise<CreateVmResult> {
  // 1. check
  requireMac(ctx.host);
  const lima = await openLimactl(ctx.host);
  const autostart = request.autostart === "off" ? null : autostartArgv(lima.version, request.name, request.autostart);
  if (request.autostart !== "off" && !autostart) {
    throw new CrossnixError(
      "BAD_INPUT",
      `--autostart boot needs Lima 2.2 or later (this is Lima ${lima.version.text})`,
      {
        hint: "use --autostart login, or brew upgrade lima",
        nothingWritten: true,
      },
    );
  }
  const { record } = await readVmRecord(ctx.host, request.name);
  if (record) {
    throw new CrossnixError("CONFLICT", `crossnix already made a VM named '${request.name}'`, {
      hint: `crossnix vm status ${request.name}`,
      exitCode: 2,
      nothingWritten: true,
    });
  }
  const marker = path.join(userStateDir(ctx.host), `vm-${request.name}.creating`);
  const halfMade = await ctx.host.exists(marker).catch(() => false);
  const instances = await listInstances(lima);
  let existing = instances.find((i) => i.name === request.name) ?? null;
  if (existing && !halfMade) {
    throw new CrossnixError(
      "CONFLICT",
      `a Lima instance named '${request.name}' exists, and crossnix did not make it`,
      {
        hint: `choose another name (crossnix vm create <name>), or remove it yourself: limactl delete ${request.name}`,
        exitCode: 2,
        nothingWritten: true,
      },
    );
  }
  const steps: string[] = [];
  if (existing?.status === "Broken") {
    // A half-made VM Lima cannot even load: remove it cleanly and start over.
    ctx.progress(`Removing the broken half-made VM '${request.name}' from an earlier run…`);
    const removed = await lima.run(["limactl", "--tty=false", "delete", "--force", request.name]);
    if (removed.exitCode !== 0) throw limaFailure(`limactl delete ${request.name}`, removed);
    steps.push("removed a broken half-made VM");
    existing = null;
  } else if (existing) steps.push("resumed a half-made VM");

  const taken = new Set(instances.flatMap((i) => (i.name !== request.name && i.sshLocalPort ? [i.sshLocalPort] : [])));
  let sshPort = existing?.sshLocalPort ?? 0;
  if (!sshPort) {
    sshPort = choosePort(taken);
    while (await portAnswers(sshPort)) {
      taken.add(sshPort);
      sshPort = choosePort(taken);
    }
  }
  const spec = { ...request, sshPort };
  const builderName = `lima-${request.name}`;
  const base = { name: request.name, builderName, sshPort, lima: lima.version.text, steps };
  if (ctx.options.dryRun) {
    ctx.out(
      [
        `Would create Lima VM '${request.name}' (Lima ${lima.version.text}), SSH pinned on 127.0.0.1:${sshPort}:`,
        `  ${quoteCommand(createArgv(lima.version, spec))}`,
        `  limactl --tty=false start ${request.name}`,
        "  install Nix in the guest, pin its host key, register it as builder",
        `  '${builderName}' (${request.systems.join(", ")}), then build once per system.`,
      ].join("\n"),
    );
    return { ...base, outcome: null, builds: [], dryRun: true };
  }
  await mkdir(path.dirname(marker), { recursive: true });
  await writeFile(
    marker,
    `${JSON.stringify({ name: request.name, sshPort, startedAt: ctx.host.now().toISOString() })}\n`,
  );

  // 2. create
  if (!existing) {
    ctx.progress(`Creating Lima VM '${request.name}' (downloads the guest image the first time: a few minutes)…`);
    const made = await lima.run(createArgv(lima.version, spec), { timeoutMs: 30 * MINUTES });
    if (made.exitCode !== 0) throw limaFailure("limactl create", made);
    steps.push("created");
  }
  // 3. start
  if ((await findInstance(lima, request.name))?.status !== "Running") {
    await startInstance(ctx, lima, request.name, sshPort);
    steps.push("started");
  }
  // 4. nix
  const guest = await findInstance(lima, request.name);
  const user = guest?.user;
  if (!guest || !user)
    throw new CrossnixError("EXEC", `limactl list does not show the guest user of '${request.name}'`);
  ctx.progress(`Installing Nix in '${request.name}' (a few minutes; skipped when it is there)…`);
  const nix = await lima.run(
    ["limactl", "--tty=false", "shell", request.name, "--", "sh", "-c", guestNixScript(user, request.rosetta)],
    {
      timeoutMs: 20 * MINUTES,
    },
  );
  if (nix.exitCode !== 0) throw limaFailure(`installing Nix in '${request.name}'`, nix);
  steps.push(nix.stdout.includes("crossnix: nix already installed") ? "nix already installed" : "installed nix");
  // 5. host key
  const keyRun = await lima.run([
    "limactl",
    "--tty=false",
    "shell",
    request.name,
    "--",
    "cat",
    "/etc/ssh/ssh_host_ed25519_key.pub",
  ]);
  const hostKey = keyRun.stdout.trim().split(/\s+/).slice(0, 2).join(" ");
  if (keyRun.exitCode !== 0 || !hostKey.startsWith("ssh-ed25519 "))
    throw limaFailure(`reading the host key of '${request.name}'`, keyRun);

  // 6. register, with the record in the same plan
  const limaHome = limaHomeOf(ctx.host);
  const builderRequest = parseBuilderRequest(`ssh-ng://${user}@127.0.0.1:${sshPort}`, {
    name: builderName,
    system: request.systems,
    identity: path.posix.join(limaHome, "_config", "user"),
    hostKey: Buffer.from(hostKey).toString("base64"),
  });
  const vmRecord: VmRecord = {
    name: request.name,
    limaHome,
    owner: vmOwner(ctx.host),
    sshPort,
    builderName,
    systems: request.systems,
    rosetta: request.rosetta,
    cpus: request.cpus,
    memoryGiB: request.memoryGiB,
    diskGiB: request.diskGiB,
    autostart: request.autostart,
    createdAt: ctx.host.now().toISOString(),
  };
  const added = await addBuilder(ctx, builderRequest, { alsoWrite: [vmRecordChange(request.name, null, vmRecord)] });
  steps.push("registered");
  if (!added.outcome.applied && !added.outcome.noop)
    return { ...base, outcome: added.outcome, builds: [], dryRun: false };

  // 7. autostart
  if (autostart) {
    const set = await lima.run(autostart);
    if (set.exitCode !== 0) throw limaFailure("limactl autostart", set);
    steps.push(`autostart ${request.autostart}`);
  }
  await rm(marker, { force: true });

  // 8. a real build per system
  const builds = await buildEach(ctx, builderName, request.systems);
  return { ...base, outcome: added.outcome, builds, dryRun: false };
}

/** `limactl start` (never for a missing instance: Lima would create an Ubuntu VM), then wait for SSH. */
export async function startInstance(ctx: VmContext, lima: Limactl, name: string, sshPort: number): Promise<void> {
  ctx.progress(`Starting '${name}' (boots the VM: up to a few minutes)…`);
  const started = await lima.run(["limactl", "--tty=false", "start", "--timeout=10m", name], {
    timeoutMs: 11 * MINUTES,
  });
  if (started.exitCode !== 0) {
    throw new CrossnixError(
      "EXEC",
      `limactl start ${name} failed: ${limaFailure("", started).message.replace(/^: /, "")}`,
      {
        hint: `look at ~/.lima/${name}/ha.stderr.log; then crossnix vm start ${name}, or crossnix vm delete ${name}`,
      },
    );
  }
  ctx.progress(`Waiting for SSH on 127.0.0.1:${sshPort}…`);
  await waitForSsh(sshPort, Math.max(30, ctx.options.timeout) * 1000);
}

/** One real build per system on the VM's builder, through the daemon as real builds go. */
export async function buildEach(
  ctx: VmContext,
  builderName: string,
  systems: string[],
): Promise<CreateVmResult["builds"]> {
  const state = await loadConfigState(ctx.host, { nixVersion: false, tolerant: true });
  const builder = state.fleet.find((b) => b.name === builderName);
  if (!builder) return [];
  const builds: CreateVmResult["builds"] = [];
  for (const system of systems) {
    ctx.progress(`Building a test derivation for ${system} on '${builderName}'…`);
    const r: E2eResult = await runE2eBuild(ctx.host, builder, system, {
      timeoutSeconds: Math.max(120, ctx.options.timeout),
      viaDaemon: state.info.mode === "daemon",
    });
    const ok = r.exitCode === 0 && !r.timedOut && r.output === "crossnix-ok";
    const detail = ok ? "" : r.timedOut ? "timed out" : (r.stderr.trim().split("\n").at(-1) ?? `exit ${r.exitCode}`);
    builds.push({ system, ok, seconds: r.seconds, detail });
  }
  return builds;
}
