// Which host key a new builder is pinned to: the one --host-key names, the one already pinned for
// that name, or the strongest the server offers; a server that offers neither of the first two is refused.
import { badInput, CrossnixError } from "../../errors.js";
import { fingerprintSha256, type HostKey, parsePublicKeyLine, preferredHostKey } from "../formats/known-hosts.js";
import { decodeHostKey } from "../formats/machines/index.js";

/** The host key the user expects: `--host-key` takes base64 of a key line, or the line itself. */
export function expectedHostKey(text: string): HostKey {
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

export interface HostKeyChoice {
  /** The address asked, for messages. */
  host: string;
  /** The builder's name, for messages about its pinned key. */
  name: string;
  /** `--host-key` as given, or null. */
  expected: string | null;
  /** The key line already pinned for a builder of that name, or null. */
  pinned: string | null;
}

/**
 * Picks the key to pin from what the server offered (at least one key): `--host-key` must be among
 * them, else the key pinned before for this name must be, else the strongest offered is used.
 * A mismatch may be impersonation: refused, nothing written.
 */
export function chooseHostKey(offered: readonly HostKey[], choice: HostKeyChoice): HostKey {
  const served = (k: HostKey) => offered.some((s) => s.keyType === k.keyType && s.key === k.key);
  if (choice.expected !== null) {
    const expected = expectedHostKey(choice.expected);
    if (!served(expected)) {
      throw new CrossnixError(
        "SSH",
        `${choice.host} presented a different host key than --host-key (${fingerprintSha256(expected.key)})`,
        {
          hint: `it offered ${offered.map((k) => `${k.keyType} ${fingerprintSha256(k.key)}`).join(", ")}; this may be impersonation`,
          nothingWritten: true,
        },
      );
    }
    return expected;
  }
  if (choice.pinned !== null) {
    const pinned = parsePublicKeyLine(choice.pinned);
    if (!served(pinned)) {
      throw new CrossnixError(
        "SSH",
        `the host key of '${choice.name}' changed: pinned ${fingerprintSha256(pinned.key)}, now ${offered.map((k) => fingerprintSha256(k.key)).join(", ")}`,
        {
          hint: "a changed host key may mean impersonation. If the builder was reinstalled, verify the new fingerprint out of band and pass it with --host-key",
          nothingWritten: true,
        },
      );
    }
    return { keyType: pinned.keyType, key: pinned.key };
  }
  const preferred = preferredHostKey(offered);
  if (!preferred) throw new Error("chooseHostKey: the server offered no key");
  return { keyType: preferred.keyType, key: preferred.key };
}
