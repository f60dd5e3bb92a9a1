// cache check's signature thread, as built (dist/): batches verified on another thread with
// libsodium (or node:crypto when asked), verdicts back in order, and an idle thread never keeps
// the process alive.
import { execFile } from "node:child_process";
import { generateKeyPairSync, sign } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { PublicKey } from "../../src/core/caches/keys.js";

const DIST = path.resolve(import.meta.dirname, "../../dist/host/caches/signature-verifier.js");
type VerifierModule = typeof import("../../src/host/caches/signature-verifier.js");

function signedSet(count: number) {
  const pair = generateKeyPairSync("ed25519");
  const raw = pair.publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("base64");
  const key: PublicKey = { name: "t-1", base64: raw, text: `t-1:${raw}` };
  const items = Array.from({ length: count }, (_, i) => {
    const fingerprint = `1;/nix/store/${String(i).padStart(32, "a")}-p${i};sha256:x;${i + 1};`;
    const signature = sign(null, Buffer.from(fingerprint), pair.privateKey).toString("base64");
    // Every third one is checked against another fingerprint: it must fail.
    const good = i % 3 !== 0;
    return { fingerprint: good ? fingerprint : `${fingerprint}x`, signature, good };
  });
  return { key, items };
}

describe("signature thread (dist)", () => {
  for (const engine of ["libsodium", "node:crypto"] as const) {
    it(`verifies a batch of 300 with ${engine}, each verdict to its own request`, async () => {
      const { signatureVerifier } = (await import(DIST)) as VerifierModule;
      const verifier = signatureVerifier({ engine });
      const { key, items } = signedSet(300);
      const verdicts = await Promise.all(items.map((i) => verifier.verify(i.fingerprint, i.signature, key)));
      expect(verdicts).toEqual(items.map((i) => i.good));
      expect(verifier.engine()).toBe(engine);
      verifier.close();
      // After close, a request still gets its answer (from libuv's pool).
      expect(await verifier.verify(items[1]!.fingerprint, items[1]!.signature, key)).toBe(true);
    });
  }

  it("a process that never closes the verifier still exits once its work is done", async () => {
    const script = `
      import { generateKeyPairSync, sign } from "node:crypto";
      const { signatureVerifier } = await import(${JSON.stringify(DIST)});
      const pair = generateKeyPairSync("ed25519");
      const raw = pair.publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("base64");
      const verifier = signatureVerifier();
      const ok = await verifier.verify("fp", sign(null, Buffer.from("fp"), pair.privateKey).toString("base64"), { name: "k", base64: raw, text: "" });
      console.log(JSON.stringify({ ok, engine: verifier.engine() }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      timeout: 60_000,
    });
    expect(JSON.parse(stdout)).toEqual({ ok: true, engine: "libsodium" });
  });
});
