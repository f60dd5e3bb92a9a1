// `crossnix builder add <destination>`: typed options in, the add use case (app/builders/add.ts), its result rendered.
import { addBuilder } from "../../app/builders/add.js";
import { describeOutcome } from "../../app/plan-runner.js";
import type { Handler } from "../../context.js";
import { type AddFlags, parseBuilderRequest } from "../../core/builders/request.js";
import { flagOption, listOption, negatableOption, type RawOptions, stringOption } from "../options.js";

export interface AddOptions extends AddFlags {
  /** `[ssh://|ssh-ng://][user@]host[:port]`, the one argument. */
  destination: string;
}

/** Commander's options, read once: strings as typed, repeatable flags as lists (validated by parseBuilderRequest). */
export function parseAddOptions(args: string[], raw: RawOptions): AddOptions {
  const options: AddOptions = {
    destination: args[0] ?? "",
    mandatoryFeature: listOption(raw, "mandatoryFeature"),
    copyKey: flagOption(raw, "copyKey"),
    setupRemote: flagOption(raw, "setupRemote"),
    probe: negatableOption(raw, "probe"),
  };
  for (const key of ["name", "maxJobs", "speedFactor", "identity", "protocol", "remoteProgram", "hostKey"] as const) {
    const value = stringOption(raw, key);
    if (value !== undefined) options[key] = value;
  }
  // Given or not matters: without --system/--feature they come from the probe.
  if (raw["system"] !== undefined) options.system = listOption(raw, "system");
  if (raw["feature"] !== undefined) options.feature = listOption(raw, "feature");
  return options;
}

const add: Handler = async (ctx, { args, options: raw }) => {
  const options = parseAddOptions(args, raw);
  const result = await addBuilder(ctx, parseBuilderRequest(options.destination, options));
  const { outcome, remoteSetup } = result;
  const json = {
    name: result.name,
    entry: result.entry,
    hostKey: result.hostKey,
    probed: result.probed,
    plan: outcome.plan,
    applied: outcome.applied,
    noop: outcome.noop,
    verified: result.verified,
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
  const text = [describeOutcome(outcome), ...result.messages].filter(Boolean).join("\n");
  return { json, text, exitCode: result.verified === false ? 1 : 0 };
};

export default add;
