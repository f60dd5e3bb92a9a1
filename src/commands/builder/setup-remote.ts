// `crossnix builder setup-remote <destination>`: parse the destination, run the use case, render.
import type { Handler } from "../../context.js";
import { setupRemote } from "../../app/builders/remote-trust.js";
import { parseDestination } from "../../core/builders/destination.js";

const setupRemoteCommand: Handler = async (ctx, { args }) => {
  const result = await setupRemote(ctx, parseDestination(args[0] ?? ""));
  const exitCode = result.status === "applied" && result.verified !== true ? 1 : 0;
  const { facts, ...json } = result;
  return {
    json: { ...json, applied: result.status === "applied", nixVersion: facts.nixVersion, trusted: facts.trusted },
    text: result.message,
    exitCode,
  };
};

export default setupRemoteCommand;
