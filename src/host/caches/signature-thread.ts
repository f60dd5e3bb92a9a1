// The thread `cache check` verifies narinfo signatures on: a batch of (fingerprint, signature, key)
// in, one verdict byte per item out, so ed25519 runs on another core while the main thread reads.
import { parentPort, workerData } from "node:worker_threads";
import { type Ed25519Engine, ed25519Verify } from "./ed25519.js";

/** One batch: item i is fingerprints[i] signed by signatures[i] (base64) with keys[i] (base64). */
export interface SignatureBatch {
  id: number;
  fingerprints: string[];
  signatures: string[];
  keys: string[];
}

export interface SignatureVerdicts {
  id: number;
  /** 1 where the signature verifies, 0 where not. */
  ok: Uint8Array;
  engine: Ed25519Engine;
}

const { engine, verify } = ed25519Verify((workerData as { engine?: Ed25519Engine } | null)?.engine);

parentPort?.on("message", (batch: SignatureBatch) => {
  const ok = new Uint8Array(batch.fingerprints.length);
  for (let i = 0; i < ok.length; i++) {
    ok[i] = verify(batch.fingerprints[i] as string, batch.signatures[i] as string, batch.keys[i] as string) ? 1 : 0;
  }
  const verdicts: SignatureVerdicts = { id: batch.id, ok, engine };
  parentPort?.postMessage(verdicts, [ok.buffer]);
});
