// `builder setup-remote` and `builder add --setup-remote`: make the builder's SSH user trusted by the
// builder's Nix daemon, through the invoking user's own SSH login and sudo there. The change is a
// plan for that machine, shown, confirmed and applied by the one plan runner (DESIGN.md), with an
// applier that reaches the builder over SSH.
import type { Context } from "../../context.js";
import type { Destination } from "../../core/builders/destination.js";
import type { ProbeFacts } from "../../core/builders/probe.js";
import {
  backupPath,
  backupStamp,
  decideTrust,
  remotePlan,
  type TrustDecision,
} from "../../core/builders/remote-trust.js";
import { fingerprintSha256, preferredHostKey } from "../../core/formats/known-hosts.js";
import { findHostBlock } from "../../core/formats/ssh-config.js";
import { isNoop, type RenderedPlan } from "../../core/plan/plan.js";
import { quoteCommand } from "../../core/shell.js";
import { CrossnixError } from "../../errors.js";
import { applyRemoteChange, readRemoteFacts, waitForTrust } from "../../host/builders/remote-trust.js";
import type { SshTarget } from "../../host/builders/ssh.js";
import { loadConfigState } from "../../host/state.js";
import { type Applier, runPlan } from "../plan-runner.js";
import { offeredHostKeys } from "./host-key.js";

/** What setting up trust uses: SSH and files (host), the person (prompt, out, warn, progress), the flags. */
export type RemoteTrustContext = Pick<Context, "host" | "options" | "prompt" | "progress" | "out" | "warn">;

export interface RemoteSetupResult {
  host: string;
  user: string;
  status: "trusted" | "managed" | "dry-run" | "applied";
  /** The remote plan as shown (files, commands, notes); null when nothing was planned. */
  plan: RenderedPlan | null;
  /** For a managed configuration: the option to set instead. */
  option: string | null;
  backup: string | null;
  restarted: boolean;
  /** After applying: does the daemon trust the user now? null when not checked. */
  verified: boolean | null;
  /** The freshest probe of the builder (after the change when one was made). */
  facts: ProbeFacts;
  /** What to tell the person, after the plan. */
  message: string;
}

/** The trust change decided for a builder, and the backup stamp its plan names. */
export interface RemoteChange {
  decision: Extract<TrustDecision, { kind: "change" }>;
  stamp: string;
  user: string;
}

/**
 * Applies a builder's trust plan there: one SSH session through the person's own login, the file
 * written as root by the builder's sudo (asking for its password on a terminal when needed), then
 * the daemon restarted. `where` is the SSH host, as the plan's file names it (`where:path`).
 */
export function sshSudoApplier(
  ctx: Pick<Context, "host" | "options" | "prompt" | "progress">,
  target: SshTarget,
  change: RemoteChange,
): Applier {
  const where = target.host;
  return {
    where,
    async apply(plan) {
      const foreign = plan.files.find((f) => f.machine !== where);
      if (foreign) throw new Error(`${foreign.path} is not a file on ${where}; this applier only applies its own plan`);
      ctx.progress(`Applying on ${where} with sudo…`);
      const { report } = await applyRemoteChange(ctx, target, change.decision, change.stamp, change.user);
      const { file, before } = change.decision;
      return {
        written: report.written ? [`${where}:${file}`] : [],
        deleted: [],
        backups: report.written && before !== null ? [backupPath(file, change.stamp)] : [],
        commands: plan.commands.map((c) => ({ command: quoteCommand(c.argv), ok: report.restarted })),
      };
    },
  };
}

/**
 * Makes the builder's SSH user trusted by the builder's Nix daemon through the invoking user's own
 * login and sudo there. Already trusted, or a configuration NixOS/nix-darwin generates: nothing is
 * planned, the result says what to do. Otherwise the remote plan goes through the plan runner
 * (--dry-run stops after showing; --yes applies; a terminal asks; no terminal and no --yes writes
 * nothing and exits 1), and after applying, trust is checked again.
 */
export async function setupRemoteTrust(
  ctx: RemoteTrustContext,
  target: SshTarget,
  options: { hostKeyNote?: string } = {},
): Promise<RemoteSetupResult> {
  const where = target.host;
  ctx.progress(`Reading the Nix configuration of ${where} through your SSH login…`);
  const facts = await readRemoteFacts(ctx.host, target, ctx.options.timeout);
  const user = facts.probe.user;
  const decision = decideTrust(facts, where);
  const base = {
    host: where,
    user,
    plan: null,
    option: null,
    backup: null,
    restarted: false,
    verified: null,
    facts: facts.probe,
  };

  if (decision.kind === "trusted") {
    return {
      ...base,
      status: "trusted",
      message: `'${user}' is already trusted by the Nix daemon on ${where} (${decision.source}); nothing to change.`,
    };
  }
  if (decision.kind === "managed") {
    return {
      ...base,
      status: "managed",
      option: decision.option,
      message: [
        `The Nix configuration on ${where} is generated by ${decision.by} (${decision.evidence.join("; ")}), so crossnix does not edit it.`,
        `To make '${user}' trusted there, set in that configuration and rebuild (${decision.by === "NixOS" ? "nixos-rebuild switch" : "darwin-rebuild switch"}):`,
        "",
        `  ${decision.option}`,
        "",
        "Nothing was written.",
      ].join("\n"),
    };
  }

  const stamp = backupStamp(ctx.host.now());
  const plan = remotePlan(decision, where, user, stamp);
  if (options.hostKeyNote) plan.notes.unshift(options.hostKeyNote);
  if (!facts.sudo) plan.notes.push(`sudo was not found on ${where} (on the SSH user's PATH): applying needs it.`);
  if (isNoop(plan)) {
    throw new CrossnixError(
      "CHECK_FAILED",
      `${where}:${decision.file} already trusts '${user}', but the running daemon does not, and crossnix cannot restart it`,
      {
        hint: "restart the Nix daemon on the builder",
        nothingWritten: true,
      },
    );
  }
  const applier = sshSudoApplier(ctx, target, { decision, stamp, user });
  const outcome = await runPlan(ctx, plan, { applier });
  if (!outcome.applied || !outcome.result) {
    return { ...base, status: "dry-run", plan: outcome.plan, message: `Dry run: nothing was written on ${where}.` };
  }

  const written = outcome.result.written.length > 0;
  const restarted = outcome.result.commands.some((c) => c.ok);
  const backup = outcome.result.backups[0] ?? null;
  ctx.progress(`Checking that the Nix daemon on ${where} trusts '${user}'…`);
  const after = await waitForTrust(ctx.host, target, ctx.options.timeout);
  const verified = after.probe.trusted === true;
  const lines: string[] = [];
  if (written) lines.push(`Wrote ${where}:${decision.file}${backup ? ` (the old file is kept as ${backup})` : ""}.`);
  if (restarted) lines.push(`Restarted the Nix daemon on ${where}.`);
  if (verified) {
    const how =
      after.probe.trustSource === "store-info"
        ? "the daemon reports it"
        : `trusted-users = ${after.probe.trustedUsers.join(" ")}; this Nix (${after.probe.nixVersion ?? "?"}) cannot report the daemon's own view`;
    lines.push(`Verified: the Nix daemon on ${where} trusts '${user}' (${how}).`);
  } else {
    lines.push(
      `Not trusted yet: the Nix daemon on ${where} still does not trust '${user}' (trusted-users = ${after.probe.trustedUsers.join(" ") || "?"}).`,
      restarted
        ? "Fix: check for a later trusted-users assignment on the builder."
        : "Fix: restart the Nix daemon on the builder.",
    );
  }
  return {
    ...base,
    status: "applied",
    plan: outcome.plan,
    backup,
    restarted,
    verified,
    facts: after.probe,
    message: lines.join("\n"),
  };
}

/**
 * The SSH target for a destination given on the command line. A builder crossnix registered is
 * reached with its pinned host key (and its alias's host, port and user); any other host's key is
 * learned from the server and pinned for this session, its fingerprint shown, as `builder add`
 * does.
 */
export async function remoteTrustTarget(
  ctx: Pick<Context, "host" | "options" | "progress">,
  destination: Destination,
): Promise<{ target: SshTarget; hostKeyNote: string }> {
  const state = await loadConfigState(ctx.host, { nixVersion: false }).catch(() => null);
  for (const builder of state?.fleet ?? []) {
    if (!builder.managed || !builder.hostKeyLine) continue;
    const block = findHostBlock(state!.sshAliases.model, builder.name);
    const option = (key: string) => block?.options.find((o) => o.key.toLowerCase() === key)?.value ?? null;
    const hostName = option("hostname");
    const port = option("port") ? Number(option("port")) : null;
    const byName = builder.name === destination.host && destination.port === null;
    const byAddress = hostName === destination.host && (port ?? 22) === (destination.port ?? 22);
    if (!byName && !byAddress) continue;
    const target: SshTarget = {
      host: hostName ?? destination.host,
      port: destination.port ?? port,
      user: destination.user ?? option("user"),
      pinnedKey: builder.hostKeyLine,
      hostKeyAlias: builder.name,
    };
    return {
      target,
      hostKeyNote: `Connected with the host key pinned for builder '${builder.name}' (${builder.hostKeyFingerprint}).`,
    };
  }
  const { host, port } = destination;
  const offered = await offeredHostKeys(ctx, host, port);
  const key = preferredHostKey(offered) ?? (offered[0] as (typeof offered)[number]);
  const fingerprint = `${key.keyType} ${fingerprintSha256(key.key)}`;
  ctx.progress(`Host key ${fingerprint}`);
  return {
    target: { host, port, user: destination.user, pinnedKey: `${key.keyType} ${key.key}`, hostKeyAlias: host },
    hostKeyNote: `Connected to ${host}${port ? `:${port}` : ""} with host key ${fingerprint}, as the server presented it now (no builder crossnix registered has this address); compare it before you apply.`,
  };
}

/** `builder setup-remote <destination>`: reach the builder (pinned key, or the one it presents now), then set up trust. */
export async function setupRemote(ctx: RemoteTrustContext, destination: Destination): Promise<RemoteSetupResult> {
  const { target, hostKeyNote } = await remoteTrustTarget(ctx, destination);
  return setupRemoteTrust(ctx, target, { hostKeyNote });
}
