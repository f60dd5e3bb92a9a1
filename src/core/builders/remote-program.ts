// The program a store URI names with `?remote-program=`: one rule for --remote-program, a path the probe reported and doctor's fix.
import { badInput, CrossnixError } from "../../errors.js";
import type { BuilderProtocol } from "./destination.js";
import type { ProbeFacts } from "./probe.js";

/**
 * Nix splits the query at '&', percent-decodes it, and hands the value to the builder's login
 * shell as the command to run: only a plain absolute path of these characters is safe there.
 */
const PLAIN_ABSOLUTE_PATH = /^\/[A-Za-z0-9_./+@-]+$/;
const RULE =
  "must be an absolute path of letters, digits and '_' '.' '/' '+' '@' '-' (no spaces, quotes, '$', '?', '&', '#' or '%')";

export function isPlainRemoteProgram(path: string): boolean {
  return PLAIN_ABSOLUTE_PATH.test(path);
}

/** The path, or an exit-2 error naming `field`. */
export function checkRemoteProgram(field: string, path: string, hint?: string): string {
  if (!isPlainRemoteProgram(path)) throw badInput(field, path, RULE, hint);
  return path;
}

/**
 * The remote program a builder needs, from what the probe saw: null when Nix finds it on the
 * non-interactive PATH, else the program in the first Nix directory found. A reported path that
 * could not go into the store URI safely is refused (exit 2), never written.
 */
export function probedRemoteProgram(protocol: BuilderProtocol, facts: ProbeFacts): string | null {
  const program = protocol === "ssh-ng" ? "nix-daemon" : "nix-store";
  const onPath = protocol === "ssh-ng" ? facts.onPath.nixDaemon : facts.onPath.nixStore;
  if (onPath) return null;
  const found = facts.candidates.map((dir) => `${dir}/${program}`);
  const usable = found.find(isPlainRemoteProgram);
  if (usable) return usable;
  if (found[0]) {
    return checkRemoteProgram(
      "remote-program reported by the builder",
      found[0],
      `pass --remote-program <absolute path of ${program}>`,
    );
  }
  throw new CrossnixError(
    "SSH",
    `${program} is not on the builder's non-interactive PATH and no Nix installation was found`,
    {
      hint: `install Nix on the builder, or pass --remote-program <absolute path of ${program}>`,
    },
  );
}

/** The remote program `builder add` writes: --remote-program as given, else what the probe found (null: on PATH, or not probed). */
export function remoteProgramFor(
  request: { protocol: BuilderProtocol; remoteProgram: string | null },
  facts: ProbeFacts | null,
): string | null {
  if (request.remoteProgram) return request.remoteProgram;
  return facts ? probedRemoteProgram(request.protocol, facts) : null;
}
