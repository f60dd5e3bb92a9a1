// ed25519 checks of narinfo signatures for the signature thread: libsodium (sodium-native) where it
// loads, which verifies in half the time OpenSSL (node:crypto) takes; node:crypto where it does not.
import { createRequire } from "node:module";
import { signatureBytes, verifySignature } from "../../core/caches/keys.js";

/** Whether `signature` (base64) is the ed25519 signature of `fingerprint` by the 32-byte key (base64). */
export type Ed25519Verify = (fingerprint: string, signature: string, key: string) => boolean;

export type Ed25519Engine = "libsodium" | "node:crypto";

export function nodeCryptoVerify(): Ed25519Verify {
  return (fingerprint, signature, key) => verifySignature(fingerprint, signature, { name: "", base64: key, text: "" });
}

interface Sodium {
  crypto_sign_verify_detached(signature: Buffer, message: Buffer, publicKey: Buffer): boolean;
}

/** libsodium's verify, or null when sodium-native is missing or its native part does not load here. */
export function libsodiumVerify(): Ed25519Verify | null {
  let sodium: Sodium;
  try {
    sodium = createRequire(import.meta.url)("sodium-native") as Sodium;
  } catch {
    return null;
  }
  const keys = new Map<string, Buffer>();
  return (fingerprint, signature, key) => {
    let publicKey = keys.get(key);
    if (!publicKey) {
      publicKey = Buffer.from(key, "base64");
      keys.set(key, publicKey);
    }
    const bytes = signatureBytes(signature);
    if (!bytes || publicKey.length !== 32) return false;
    return sodium.crypto_sign_verify_detached(bytes, Buffer.from(fingerprint, "utf8"), publicKey);
  };
}

/** The fastest engine that loads, unless one is asked for. */
export function ed25519Verify(want?: Ed25519Engine): { engine: Ed25519Engine; verify: Ed25519Verify } {
  const sodium = want === "node:crypto" ? null : libsodiumVerify();
  return sodium ? { engine: "libsodium", verify: sodium } : { engine: "node:crypto", verify: nodeCryptoVerify() };
}
