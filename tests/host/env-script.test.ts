// The shell lines `crossnix env` prints.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { renderEnvScript } from "../../src/core/env/script.js";
import { isTrustedUser } from "../../src/core/nix/trust.js";

describe("renderEnvScript", () => {
  it("gives sh exactly the NIX_CONFIG it reports, keeping an existing NIX_CONFIG first", () => {
    const { lines, nixConfig } = renderEnvScript({
      shell: "sh",
      existingNixConfig: "substituters = https://c.example\n",
      builders: "ssh-ng://a x86_64-linux ; ssh-ng://b's aarch64-linux",
      legacyRemoteSystemsSet: true,
    });
    expect(nixConfig).toBe(
      "substituters = https://c.example\nbuilders = ssh-ng://a x86_64-linux ; ssh-ng://b's aarch64-linux\nbuilders-use-substitutes = true",
    );
    expect(lines.join("\n")).not.toMatch(/^export NIX_REMOTE_SYSTEMS/m);
    const seen = execFileSync(
      "sh",
      ["-c", `NIX_REMOTE_SYSTEMS=x; ${lines.join("\n")}\nprintf '%s|%s' "$NIX_CONFIG" "\${NIX_REMOTE_SYSTEMS-unset}"`],
      {
        encoding: "utf8",
      },
    );
    expect(seen).toBe(`${nixConfig}|unset`);
  });

  it("writes fish syntax", () => {
    const { lines } = renderEnvScript({
      shell: "fish",
      existingNixConfig: null,
      builders: "@/etc/nix/machines",
      legacyRemoteSystemsSet: false,
    });
    expect(lines.at(-1)).toBe("set -gx NIX_CONFIG 'builders = @/etc/nix/machines\nbuilders-use-substitutes = true'");
  });

  it("knows who the daemon trusts", () => {
    expect(isTrustedUser(["root"], "root", [])).toBe(true);
    expect(isTrustedUser(["root"], "me", ["staff"])).toBe(false);
    expect(isTrustedUser(["root", "@admin"], "me", ["staff", "admin"])).toBe(true);
    expect(isTrustedUser(["*"], "me", [])).toBe(true);
  });
});
