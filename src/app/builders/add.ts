// `builder add`: register a remote builder. The flow, each step refusing before anything is written:
//   1. name      – the builder's name is free as an ssh alias (assertNameFree); the speed factor is
//                  one the installed Nix reads (speedFactorForNix)
//   2. key       – the daemon's identity: --identity, the dedicated key from before, or a new one
//                  the plan creates (checkIdentityFile)
//   3. host key  – learned from the server and checked against --host-key or the key pinned before
//                  (learnHostKey; with --no-probe --host-key, no connection at all)
//   4. probe     – one SSH session as the daemon's key would log in, or through the person's own
//                  login while the key is not installed yet: systems, CPUs, features, trust
//   5. [trust]   – --setup-remote: make the SSH user trusted on the builder first (its own remote
//                  plan, shown and confirmed by the plan runner; app/builders/remote-trust.ts)
//   6. plan      – machines entry, ssh alias, pinned host key, settings (core/builders/plan.ts)
//   7. apply     – the plan runner: show, confirm, apply (re-planned if another crossnix wrote first)
//   8. [copy key]– --copy-key: install the daemon's public key through the person's login
//   9. verify    – connect exactly as the daemon will (root only), and say what was seen
import type { Context } from "../../context.js";
import { type NewBuilder, planAddBuilder } from "../../core/builders/plan.js";
import type { ProbeFacts } from "../../core/builders/probe.js";
import { remoteProgramFor } from "../../core/builders/remote-program.js";
import { trustHint } from "../../core/builders/remote-trust.js";
import type { BuilderRequest } from "../../core/builders/request.js";
import type { FileChange } from "../../core/plan/plan.js";
import { fingerprintSha256, type HostKey } from "../../core/formats/known-hosts.js";
import {
  encodeHostKey,
  FRACTIONAL_SPEED_SINCE,
  type MachineEntry,
  speedFactorRefusal,
} from "../../core/formats/machines/index.js";
import { badInput, CrossnixError } from "../../errors.js";
import { checkIdentityFile } from "../../host/builders/identity-file.js";
import { dedicatedKeyPath } from "../../host/builders/key-paths.js";
import { probeBuilder } from "../../host/builders/probe.js";
import type { SshTarget } from "../../host/builders/ssh.js";
import { type ConfigState, loadConfigState } from "../../host/state.js";
import { type PlanOutcome, runPlan } from "../plan-runner.js";
import { copyPublicKey } from "./copy-key.js";
import { learnHostKey } from "./host-key.js";
import { assertNameFree } from "./names.js";
import { planInputs } from "./plan-inputs.js";
import { type RemoteSetupResult, setupRemoteTrust } from "./remote-trust.js";
import { verifyAsDaemon } from "./verify.js";

/** What adding a builder uses: the world (host, SSH), the person (prompt, out, warn, progress), the flags. */
export type AddContext = Pick<Context, "host" | "options" | "prompt" | "progress" | "out" | "warn">;

export interface AddResult {
  name: string;
  /** The machines entry written (or that would be, under --dry-run). */
  entry: MachineEntry;
  hostKey: { type: string; fingerprint: string };
  /** What the probe saw (after --setup-remote's change, when one was made); null with --no-probe. */
  probed: ProbeFacts | null;
  outcome: PlanOutcome;
  /** Connecting as the daemon after applying: null when not checked (not root, --no-probe, --dry-run). */
  verified: boolean | null;
  /** --setup-remote's result, when trust had to be set up. */
  remoteSetup: RemoteSetupResult | null;
  /** What happened after the plan, in order: trust on the builder, the key installed, the check as the daemon. */
  messages: string[];
}

/** Runs the add flow above for a validated request. */
export async function addBuilder(
  ctx: AddContext,
  request: BuilderRequest,
  options: { alsoWrite?: FileChange[] } = {},
): Promise<AddResult> {
  // 1. name
  const state = await loadConfigState(ctx.host);
  const speedFactor = await speedFactorForNix(ctx, request.speedFactor, state);
  await assertNameFree(ctx.host, state, request.name);

  // 2. key
  const identity = request.identity ?? dedicatedKeyPath(request.name);
  const keyExists = await ctx.host.exists(identity);
  if (request.identity || keyExists)
    await checkIdentityFile(ctx.host, identity, request.identity ? "--identity" : "key file");

  // 3. host key
  const hostKey = await learnHostKey(ctx, request, state);
  const fingerprint = fingerprintSha256(hostKey.key);
  ctx.progress(`Host key ${hostKey.keyType} ${fingerprint}`);

  // 4. probe, 5. [trust]
  if (request.setupRemote && !request.probe)
    throw badInput("--setup-remote", "--no-probe", "setting up the builder needs an SSH session", "drop --no-probe");
  const { facts, remoteSetup } = request.probe
    ? await probeAndTrust(ctx, request, hostKey, keyExists ? ctx.host.path(identity) : null)
    : { facts: null, remoteSetup: null };

  // 6. plan, 7. apply
  const remoteProgram = remoteProgramFor(request, facts);
  const createKeyAt = keyExists ? null : ctx.host.path(identity);
  const builder = newBuilder(request, { identity, createKeyAt, hostKey, facts, speedFactor, remoteProgram });
  const planFrom = async (current: ConfigState) => {
    const plan = planAddBuilder(await planInputs(ctx.host, current, { settingsMayChange: true }), builder);
    // Files another use case registers in the same plan (vm create's record of its VM).
    plan.files.push(...(options.alsoWrite ?? []));
    if (remoteProgram && !request.remoteProgram) {
      plan.notes.push(
        `nix-daemon is not on the builder's non-interactive PATH; using remote-program=${remoteProgram}.`,
      );
    }
    return plan;
  };
  // If another crossnix changes the files while this one waits for the lock, plan again from them.
  const replan = async () => {
    const current = await loadConfigState(ctx.host);
    await assertNameFree(ctx.host, current, request.name);
    return planFrom(current);
  };
  const outcome = await runPlan(ctx, await planFrom(state), { replan });

  // 8. [copy key], 9. verify
  const messages: string[] = remoteSetup && remoteSetup.status !== "dry-run" ? [remoteSetup.message] : [];
  let verified: boolean | null = null;
  if (outcome.applied || outcome.noop) {
    if (request.copyKey) {
      ctx.progress(`Installing the daemon's public key on ${request.destination.host}…`);
      messages.push(
        await copyPublicKey(
          ctx,
          request.destination,
          `${identity}.pub`,
          `${hostKey.keyType} ${hostKey.key}`,
          request.name,
        ),
      );
    }
    if (request.probe) {
      const check = await verifyAsDaemon(ctx, request.name);
      verified = check.ok;
      messages.push(check.message);
    }
  }
  return {
    name: request.name,
    entry: builder.entry,
    hostKey: { type: hostKey.keyType, fingerprint },
    probed: facts,
    outcome,
    verified,
    remoteSetup,
    messages,
  };
}

/**
 * A speed factor the installed Nix reads as written: before 2.20 only whole numbers
 * (docs/nix-machines-file.md#speed-factor). Otherwise refuse (exit 2) with the nearest whole
 * number, or write that number if the person at the terminal agrees; --yes is not consent to a
 * different value.
 */
async function speedFactorForNix(
  ctx: Pick<Context, "prompt" | "options">,
  value: number | null,
  state: ConfigState,
): Promise<number | null> {
  if (value === null) return null;
  const refusal = speedFactorRefusal(value, state.dialect, state.info.nix.version?.nix ?? null);
  if (refusal === null) return value;
  const { nearest, why } = refusal;
  if (
    ctx.prompt.interactive &&
    !ctx.options.yes &&
    (await ctx.prompt.confirm(`--speed-factor ${value}: ${why}. Write ${nearest} instead?`))
  ) {
    return nearest;
  }
  throw badInput(
    "--speed-factor",
    String(value),
    why,
    `pass --speed-factor ${nearest}, or upgrade Nix to ${FRACTIONAL_SPEED_SINCE} or later`,
  );
}

/**
 * Steps 4 and 5: probe the builder (with the daemon's key when it exists, else through the person's
 * own login), and with --setup-remote make its SSH user trusted there first. Refuses a builder
 * Nix could not use: a noisy login shell, or an untrusted user (unless a --dry-run trust plan
 * was just shown).
 */
async function probeAndTrust(
  ctx: AddContext,
  request: BuilderRequest,
  hostKey: HostKey,
  identity: string | null,
): Promise<{ facts: ProbeFacts; remoteSetup: RemoteSetupResult | null }> {
  const { host, port, user } = request.destination;
  const target: SshTarget = {
    host,
    user,
    port,
    identity,
    pinnedKey: `${hostKey.keyType} ${hostKey.key}`,
    hostKeyAlias: request.name,
  };
  ctx.progress(`Probing ${host} ${identity ? "with the daemon's key" : "through your own SSH login"}…`);
  const outcome = await probeBuilder(ctx.host, target, {
    timeoutSeconds: ctx.options.timeout,
    interactiveUser: identity === null,
  });
  if (!outcome.ok) {
    throw new CrossnixError("SSH", `cannot probe ${host}: ${outcome.failure.summary} (${outcome.failure.evidence})`, {
      hint: `${outcome.failure.fix}; or add it without connecting: --no-probe --system <system>`,
      nothingWritten: true,
    });
  }
  let facts = outcome.facts;
  let remoteSetup: RemoteSetupResult | null = null;
  if (request.setupRemote && facts.trusted !== true) {
    remoteSetup = await setupRemoteTrust(ctx, { ...target, identity: null });
    if (remoteSetup.status === "managed")
      throw new CrossnixError("CHECK_FAILED", remoteSetup.message, { hint: "then run this command again" });
    if (remoteSetup.status === "applied" && !remoteSetup.verified) {
      throw new CrossnixError("CHECK_FAILED", remoteSetup.message, {
        hint: "the builder was changed as shown; nothing was written here",
      });
    }
    if (remoteSetup.status !== "dry-run") facts = remoteSetup.facts;
  }
  checkProbe(request, facts, remoteSetup?.status === "dry-run");
  return { facts, remoteSetup };
}

/** What Nix needs from a probed builder: a silent login shell, and (unless being set up) trust. */
function checkProbe(request: BuilderRequest, facts: ProbeFacts, trustPlanned: boolean): void {
  if (facts.shellNoise.trim() !== "") {
    throw new CrossnixError(
      "SSH",
      `the login shell of ${facts.user}@${request.destination.host} prints to stdout, which breaks Nix's protocol: '${facts.shellNoise.trim().slice(0, 80)}'`,
      {
        hint: "make the shell's startup files silent for non-interactive sessions (e.g. guard echo with [ -t 1 ])",
        nothingWritten: true,
      },
    );
  }
  if (facts.trusted === false && !trustPlanned) {
    throw new CrossnixError(
      "SSH",
      `${facts.user} is not a trusted user of the builder's Nix daemon, so it cannot build for this machine`,
      {
        hint: trustHint(request.destination, facts),
        nothingWritten: true,
      },
    );
  }
}

/** Step 6's input: the machines entry and ssh alias, from the flags first and the probe second. */
function newBuilder(
  request: BuilderRequest,
  found: {
    identity: string;
    /** Real path of the dedicated key the plan creates; null when the key exists. */
    createKeyAt: string | null;
    hostKey: HostKey;
    facts: ProbeFacts | null;
    speedFactor: number | null;
    remoteProgram: string | null;
  },
): NewBuilder {
  const { identity, hostKey, facts, remoteProgram } = found;
  const entry: MachineEntry = {
    uri: `${request.protocol}://${request.name}${remoteProgram ? `?remote-program=${remoteProgram}` : ""}`,
    systems: request.systems ?? facts?.systems ?? [],
    sshKey: identity,
    maxJobs: request.maxJobs ?? facts?.cpus ?? 1,
    speedFactor: found.speedFactor,
    supportedFeatures: request.features ?? facts?.features ?? [],
    mandatoryFeatures: request.mandatoryFeatures,
    hostKey: encodeHostKey(`${hostKey.keyType} ${hostKey.key}`),
  };
  return {
    name: request.name,
    entry,
    ssh: {
      hostName: request.destination.host,
      port: request.destination.port,
      user: request.destination.user,
      identityFile: identity,
    },
    createKeyAt: found.createKeyAt,
  };
}
