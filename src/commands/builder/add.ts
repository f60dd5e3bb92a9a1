import type { Context, Handler } from "../../context.js";
import { type NewBuilder, planAddBuilder } from "../../core/builders/plan.js";
import { type BuilderRequest, parseBuilderRequest } from "../../core/builders/request.js";
import { fingerprintSha256, parsePublicKeyLine, preferredHostKey } from "../../core/formats/known-hosts.js";
import {
  decodeHostKey,
  encodeHostKey,
  FRACTIONAL_SPEED_SINCE,
  type MachineEntry,
  speedFactorRefusal,
} from "../../core/formats/machines/index.js";
import type { ProbeFacts } from "../../core/builders/probe.js";
import { probedRemoteProgram } from "../../core/builders/remote-program.js";
import { badInput, CrossnixError } from "../../errors.js";
import { type ConfigState, loadConfigState } from "../../host/state.js";
import { dedicatedKeyPath } from "../../host/builders/key-paths.js";
import { checkIdentityFile } from "../../host/builders/identity-file.js";
import { probeBuilder } from "../../host/builders/probe.js";
import { scanHostKeys, type SshTarget } from "../../host/builders/ssh.js";
import { runPlan, describeOutcome } from "../../app/plan-runner.js";
import { planInputs } from "../../app/builders/plan-inputs.js";
import { copyPublicKey } from "../../app/builders/copy-key.js";
import { assertNameFree } from "../../app/builders/names.js";
import { verifyAsDaemon } from "../../app/builders/verify.js";
import { trustHint } from "../../core/builders/remote-trust.js";
import { type RemoteSetupResult, setupRemoteTrust } from "./setup-remote.js";

/** The host key the user expects: `--host-key` takes base64 of a key line, or the line itself. */
function expectedHostKey(text: string): { keyType: string; key: string } {
  try {
    const line = /^ssh-|^ecdsa-/.test(text.trim()) ? text : decodeHostKey(text);
    const { keyType, key } = parsePublicKeyLine(line);
    return { keyType, key };
  } catch {
    throw badInput(
      "--host-key",
      text,
      "not a public key line nor its base64",
      "e.g. the output of: ssh-keyscan -t ed25519 HOST | cut -d' ' -f2- | base64 -w0",
    );
  }
}

async function learnHostKey(ctx: Context, request: BuilderRequest, state: ConfigState) {
  const { host, port } = request.destination;
  // --no-probe with --host-key registers a builder that is not reachable now: no connection at all.
  if (!request.probe && request.hostKey) return expectedHostKey(request.hostKey);
  ctx.progress(`Asking ${host}${port ? `:${port}` : ""} for its host key…`);
  const { keys, result } = await scanHostKeys(ctx.host, host, port, ctx.options.timeout);
  if (keys.length === 0) {
    const why =
      result.stderr
        .trim()
        .split("\n")
        .filter((l) => !l.startsWith("#"))
        .at(-1) ?? "no answer";
    throw new CrossnixError(
      "SSH",
      `cannot reach ${host}${port ? `:${port}` : ""}: ${result.timedOut ? "timed out" : why || "no SSH server answered"}`,
      {
        hint: "check that the builder is up and sshd listens on that address and port; nothing was written",
      },
    );
  }
  const served = (k: { keyType: string; key: string }) => keys.some((s) => s.keyType === k.keyType && s.key === k.key);
  if (request.hostKey) {
    const expected = expectedHostKey(request.hostKey);
    if (!served(expected)) {
      throw new CrossnixError(
        "SSH",
        `${host} presented a different host key than --host-key (${fingerprintSha256(expected.key)})`,
        {
          hint: `it offered ${keys.map((k) => `${k.keyType} ${fingerprintSha256(k.key)}`).join(", ")}; this may be impersonation. Nothing was written`,
        },
      );
    }
    return expected;
  }
  const existing = state.fleet.find((b) => b.managed && b.name === request.name);
  if (existing?.hostKeyLine) {
    const pinned = parsePublicKeyLine(existing.hostKeyLine);
    if (!served(pinned)) {
      throw new CrossnixError(
        "SSH",
        `the host key of '${request.name}' changed: pinned ${fingerprintSha256(pinned.key)}, now ${keys.map((k) => fingerprintSha256(k.key)).join(", ")}`,
        {
          hint: "a changed host key may mean impersonation. If the builder was reinstalled, verify the new fingerprint out of band and pass it with --host-key. Nothing was written",
        },
      );
    }
    return { keyType: pinned.keyType, key: pinned.key };
  }
  return preferredHostKey(keys)!;
}

function remoteProgramFor(request: BuilderRequest, facts: ProbeFacts | null): string | null {
  if (request.remoteProgram) return request.remoteProgram;
  return facts ? probedRemoteProgram(request.protocol, facts) : null;
}

function checkProbe(request: BuilderRequest, facts: ProbeFacts, trustPlanned = false): void {
  if (facts.shellNoise.trim() !== "") {
    throw new CrossnixError(
      "SSH",
      `the login shell of ${facts.user}@${request.destination.host} prints to stdout, which breaks Nix's protocol: '${facts.shellNoise.trim().slice(0, 80)}'`,
      {
        hint: "make the shell's startup files silent for non-interactive sessions (e.g. guard echo with [ -t 1 ]); nothing was written",
      },
    );
  }
  if (facts.trusted === false && !trustPlanned) {
    throw new CrossnixError(
      "SSH",
      `${facts.user} is not a trusted user of the builder's Nix daemon, so it cannot build for this machine`,
      {
        hint: trustHint(request.destination, facts),
      },
    );
  }
}

/**
 * A speed factor the installed Nix reads as written: before 2.20 only whole numbers
 * (docs/nix-machines-file.md#speed-factor). Otherwise refuse (exit 2) with the nearest whole
 * number, or write that number if the person at the terminal agrees; --yes is not consent to a
 * different value.
 */
async function speedFactorForNix(ctx: Context, value: number | null, state: ConfigState): Promise<number | null> {
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
    `pass --speed-factor ${nearest}, or upgrade Nix to ${FRACTIONAL_SPEED_SINCE} or later. Nothing was written`,
  );
}

const add: Handler = async (ctx, { args, options }) => {
  const request = parseBuilderRequest(args[0] ?? "", options);
  const state = await loadConfigState(ctx.host);
  const speedFactor = await speedFactorForNix(ctx, request.speedFactor, state);
  await assertNameFree(ctx.host, state, request.name);

  const identity = request.identity ?? dedicatedKeyPath(request.name);
  const keyExists = await ctx.host.exists(identity);
  if (request.identity || keyExists)
    await checkIdentityFile(ctx.host, identity, request.identity ? "--identity" : "key file");

  const hostKey = await learnHostKey(ctx, request, state);
  const fingerprint = fingerprintSha256(hostKey.key);
  ctx.progress(`Host key ${hostKey.keyType} ${fingerprint}`);

  let facts: ProbeFacts | null = null;
  let remoteSetup: RemoteSetupResult | null = null;
  if (request.setupRemote && !request.probe)
    throw badInput("--setup-remote", "--no-probe", "setting up the builder needs an SSH session", "drop --no-probe");
  if (request.probe) {
    const { host, port, user } = request.destination;
    const target: SshTarget = {
      host,
      user,
      port,
      identity: keyExists ? ctx.host.path(identity) : null,
      pinnedKey: `${hostKey.keyType} ${hostKey.key}`,
      hostKeyAlias: request.name,
    };
    ctx.progress(`Probing ${host} ${keyExists ? "with the daemon's key" : "through your own SSH login"}…`);
    const outcome = await probeBuilder(ctx.host, target, {
      timeoutSeconds: ctx.options.timeout,
      interactiveUser: !keyExists,
    });
    if (!outcome.ok) {
      throw new CrossnixError("SSH", `cannot probe ${host}: ${outcome.failure.summary} (${outcome.failure.evidence})`, {
        hint: `${outcome.failure.fix}; or add it without connecting: --no-probe --system <system>. Nothing was written`,
      });
    }
    facts = outcome.facts;
    // ---- --setup-remote: trust on the builder first (its own remote plan and confirmation) ----
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
    // ---- end --setup-remote ----
  }

  const remoteProgram = remoteProgramFor(request, facts);
  const uri = `${request.protocol}://${request.name}${remoteProgram ? `?remote-program=${remoteProgram}` : ""}`;
  const entry: MachineEntry = {
    uri,
    systems: request.systems ?? facts?.systems ?? [],
    sshKey: identity,
    maxJobs: request.maxJobs ?? facts?.cpus ?? 1,
    speedFactor,
    supportedFeatures: request.features ?? facts?.features ?? [],
    mandatoryFeatures: request.mandatoryFeatures,
    hostKey: encodeHostKey(`${hostKey.keyType} ${hostKey.key}`),
  };
  const builder: NewBuilder = {
    name: request.name,
    entry,
    ssh: {
      hostName: request.destination.host,
      port: request.destination.port,
      user: request.destination.user,
      identityFile: identity,
    },
    createKeyAt: keyExists ? null : ctx.host.path(identity),
  };
  const planFrom = async (current: ConfigState) => {
    const plan = planAddBuilder(await planInputs(ctx.host, current, { settingsMayChange: true }), builder);
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

  const after: string[] = remoteSetup && remoteSetup.status !== "dry-run" ? [remoteSetup.message] : [];
  let verified: boolean | null = null;
  if (outcome.applied || outcome.noop) {
    if (request.copyKey) {
      ctx.progress(`Installing the daemon's public key on ${request.destination.host}…`);
      after.push(
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
      after.push(check.message);
    }
  }
  const summary = {
    name: request.name,
    entry,
    hostKey: { type: hostKey.keyType, fingerprint },
    probed: facts,
    plan: outcome.plan,
    applied: outcome.applied,
    noop: outcome.noop,
    verified,
    ...(remoteSetup
      ? {
          remoteSetup: {
            status: remoteSetup.status,
            user: remoteSetup.user,
            plan: remoteSetup.plan,
            backup: remoteSetup.backup,
            verified: remoteSetup.verified,
          },
        }
      : {}),
  };
  const text = [describeOutcome(outcome), ...after].filter(Boolean).join("\n");
  return { json: summary, text, exitCode: verified === false ? 1 : 0 };
};

export default add;
