// Learning a builder's host key: ask the server (ssh-keyscan) and pick the key to pin by the rules in
// core/builders/host-key.ts.
import type { Context } from "../../context.js";
import { chooseHostKey, expectedHostKey } from "../../core/builders/host-key.js";
import type { BuilderRequest } from "../../core/builders/request.js";
import type { HostKey } from "../../core/formats/known-hosts.js";
import { unreachable } from "../../errors.js";
import { scanHostKeys } from "../../host/builders/ssh.js";
import type { ConfigState } from "../../host/state.js";

export type HostKeyContext = Pick<Context, "host" | "options" | "progress">;

/** The keys the SSH server at host[:port] offers now (at least one), or `unreachable`. */
export async function offeredHostKeys(ctx: HostKeyContext, host: string, port: number | null): Promise<HostKey[]> {
  ctx.progress(`Asking ${host}${port ? `:${port}` : ""} for its host key…`);
  const { keys, result } = await scanHostKeys(ctx.host, host, port, ctx.options.timeout);
  if (keys.length === 0) throw unreachable(host, port, result);
  return keys;
}

/**
 * The host key `builder add` pins. With --no-probe and --host-key it is the given key, without any
 * connection (the builder may be unreachable now); otherwise the server is asked and
 * `chooseHostKey` decides.
 */
export async function learnHostKey(ctx: HostKeyContext, request: BuilderRequest, state: ConfigState): Promise<HostKey> {
  if (!request.probe && request.hostKey) return expectedHostKey(request.hostKey);
  const { host, port } = request.destination;
  const offered = await offeredHostKeys(ctx, host, port);
  const pinned = state.fleet.find((b) => b.managed && b.name === request.name)?.hostKeyLine || null;
  return chooseHostKey(offered, { host, name: request.name, expected: request.hostKey, pinned });
}
