// Renders the sh or fish lines `crossnix env` prints (NIX_CONFIG carrying `builders`).
import { quoteArg } from "../shell.js";

export type ShellKind = "sh" | "fish";

export interface EnvRequest {
  shell: ShellKind;
  /** Current NIX_CONFIG of the shell, kept: ours is appended so later lines win (docs/nix-settings.md#config-files). */
  existingNixConfig: string | null;
  builders: string;
  legacyRemoteSystemsSet: boolean;
}

function fishQuote(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Lines a shell can eval: NIX_CONFIG carrying `builders`, never the legacy NIX_REMOTE_SYSTEMS. */
export function renderEnvScript(request: EnvRequest): { lines: string[]; nixConfig: string } {
  const ours = [`builders = ${request.builders}`, "builders-use-substitutes = true"].join("\n");
  const nixConfig = request.existingNixConfig ? `${request.existingNixConfig.replace(/\n+$/, "")}\n${ours}` : ours;
  const lines = ["# crossnix env: remote builders for this shell only (Nix reads NIX_CONFIG after nix.conf)"];
  if (request.legacyRemoteSystemsSet) {
    lines.push(
      "# NIX_REMOTE_SYSTEMS is a Nix 1.x leftover: only a default for `builders`, and the daemon never sees it",
    );
    lines.push(request.shell === "fish" ? "set -e NIX_REMOTE_SYSTEMS" : "unset NIX_REMOTE_SYSTEMS");
  }
  lines.push(
    request.shell === "fish"
      ? `set -gx NIX_CONFIG ${fishQuote(nixConfig)}`
      : `export NIX_CONFIG=${quoteArg(nixConfig)}`,
  );
  return { lines, nixConfig };
}
