// Nix's signing keys (`name:base64`) and narinfo signature checks, with ed25519 from node:crypto.
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { promisify } from "node:util";
import { type NarInfo, narInfoFingerprint } from "./narinfo.js";

export interface PublicKey {
  name: string;
  /** The 32-byte ed25519 key, base64 as written. */
  base64: string;
  /** The `name:base64` text as Nix reads it. */
  text: string;
}

/** Why a `name:base64` text is no Nix public key, or null when it is one. */
export function publicKeyProblem(text: string): string | null {
  const colon = text.indexOf(":");
  if (colon < 1) return "a key is 'name:base64', e.g. cache.example.org-1:AbC…=";
  const name = text.slice(0, colon);
  const body = text.slice(colon + 1);
  if (/\s/.test(text)) return "a key has no spaces";
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) return `'${body}' is not base64`;
  const bytes = Buffer.from(body, "base64");
  if (bytes.length !== 32) return `an ed25519 public key is 32 bytes, this one is ${bytes.length}`;
  if (name.includes("/")) return "a key name has no '/'";
  return null;
}

export function parsePublicKey(text: string): PublicKey | null {
  if (publicKeyProblem(text) !== null) return null;
  const colon = text.indexOf(":");
  return { name: text.slice(0, colon), base64: text.slice(colon + 1), text };
}

/** Every valid key in a `trusted-public-keys` value (Nix skips none silently, but crossnix only reads). */
export function parsePublicKeys(value: string): PublicKey[] {
  return value
    .split(/\s+/)
    .filter(Boolean)
    .map(parsePublicKey)
    .filter((k): k is PublicKey => k !== null);
}

// DER prefix of an ed25519 SubjectPublicKeyInfo; the raw 32 bytes follow.
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const keyObjects = new Map<string, KeyObject>();

function keyObject(key: PublicKey): KeyObject {
  let object = keyObjects.get(key.base64);
  if (!object) {
    const der = Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(key.base64, "base64")]);
    object = createPublicKey({ key: der, format: "der", type: "spki" });
    keyObjects.set(key.base64, object);
  }
  return object;
}

/** The verdict on a narinfo's signatures against a set of trusted keys. */
export type SignatureCheck =
  | { status: "verified"; key: string }
  | { status: "unsigned" }
  /** Signed, but by no key in the set (names of the keys that signed). */
  | { status: "unknown-key"; signedBy: string[] }
  /** A signature by a trusted key's name that does not verify (wrong key, or a tampered narinfo). */
  | { status: "bad-signature"; key: string }
  /** Content-addressed: Nix needs no signature (docs/binary-caches.md#signatures). */
  | { status: "content-addressed" };

/** A signature by a trusted key's name, worth verifying (its base64 text, decoded by whoever verifies it). */
interface Candidate {
  key: PublicKey;
  signature: string;
}

/** The names that signed, and each signature a trusted key of that name could verify, in order. */
function signatureCandidates(info: NarInfo, keys: readonly PublicKey[]) {
  const signedBy: string[] = [];
  const candidates: Candidate[] = [];
  const triedKeys: string[] = [];
  for (const sig of info.sigs) {
    const colon = sig.indexOf(":");
    if (colon < 1) continue;
    const name = sig.slice(0, colon);
    signedBy.push(name);
    for (const key of keys) {
      if (key.name !== name) continue;
      triedKeys.push(key.name);
      candidates.push({ key, signature: sig.slice(colon + 1) });
    }
  }
  return { signedBy, candidates, triedKeys };
}

/** The verdict when no candidate verified. */
function unverified(info: NarInfo, signedBy: string[], triedKeys: string[]): SignatureCheck {
  if (info.ca !== null) return { status: "content-addressed" };
  const badKey = triedKeys.at(-1);
  if (badKey !== undefined) return { status: "bad-signature", key: badKey };
  return signedBy.length === 0 ? { status: "unsigned" } : { status: "unknown-key", signedBy };
}

/** Checks each `Sig` whose key name is trusted; the first that verifies wins. */
export function checkSignatures(info: NarInfo, keys: readonly PublicKey[]): SignatureCheck {
  const fingerprint = narInfoFingerprint(info);
  const { signedBy, candidates, triedKeys } = signatureCandidates(info, keys);
  if (fingerprint !== null) {
    for (const { key, signature } of candidates) {
      if (verifySignature(fingerprint, signature, key)) return { status: "verified", key: key.name };
    }
  }
  return unverified(info, signedBy, triedKeys);
}

/** The 64 bytes of an ed25519 signature written in base64, or null when it is no such thing. */
export function signatureBytes(base64: string): Buffer | null {
  const bytes = Buffer.from(base64, "base64");
  return bytes.length === 64 ? bytes : null;
}

/** Whether `signature` (base64 of 64 bytes) is the key's ed25519 signature of the fingerprint. */
export function verifySignature(fingerprint: string, signature: string, key: PublicKey): boolean {
  const bytes = signatureBytes(signature);
  if (!bytes) return false;
  try {
    return verify(null, Buffer.from(fingerprint, "utf8"), keyObject(key), bytes);
  } catch {
    return false;
  }
}

/** Whether Nix would accept the path from a cache: a verifying trusted key, or content-addressed. */
export function acceptedByNix(check: SignatureCheck): boolean {
  return check.status === "verified" || check.status === "content-addressed";
}

/** Verifies one signature (base64) of a fingerprint with a key, possibly elsewhere (another thread). */
export type SignatureVerify = (fingerprint: string, signature: string, key: PublicKey) => Promise<boolean>;

const verifyInPool = promisify(verify);

/** SignatureVerify on libuv's thread pool (what crossnix falls back to without its own thread). */
export const verifyOnThreadPool: SignatureVerify = async (fingerprint, signature, key) => {
  const bytes = signatureBytes(signature);
  if (!bytes) return false;
  return verifyInPool(null, Buffer.from(fingerprint, "utf8"), keyObject(key), bytes).catch(() => false);
};

/**
 * checkSignatures with the ed25519 work done by `verify` (cache check's signature thread), so that
 * thousands of checks overlap each other and the network instead of taking turns on the event loop.
 */
export async function checkSignaturesAsync(
  info: NarInfo,
  keys: readonly PublicKey[],
  verify: SignatureVerify = verifyOnThreadPool,
): Promise<SignatureCheck> {
  const fingerprint = narInfoFingerprint(info);
  const { signedBy, candidates, triedKeys } = signatureCandidates(info, keys);
  if (fingerprint !== null) {
    for (const { key, signature } of candidates) {
      if (await verify(fingerprint, signature, key)) return { status: "verified", key: key.name };
    }
  }
  return unverified(info, signedBy, triedKeys);
}
