/** A syntactically valid ssh-ed25519 public key blob (base64), the same for the same seed. */
export function ed25519Key(seed: number): string {
  const type = Buffer.from("ssh-ed25519");
  const blob = Buffer.alloc(4 + type.length + 4 + 32);
  blob.writeUInt32BE(type.length, 0);
  type.copy(blob, 4);
  blob.writeUInt32BE(32, 4 + type.length);
  blob.fill(seed, 8 + type.length);
  return blob.toString("base64");
}

/** `--host-key` for a builder that is never contacted: base64 of an ed25519 public key line. */
export const OFFLINE_HOST_KEY = Buffer.from(`ssh-ed25519 ${ed25519Key(7)}`).toString("base64");
