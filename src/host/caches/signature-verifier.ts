// Where `cache check` verifies signatures: on a thread of its own (signature-thread.ts), each
// event-loop turn's requests in one batch, so the main thread only reads and parses; on libuv's
// pool when that thread is missing.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { type PublicKey, type SignatureVerify, verifyOnThreadPool } from "../../core/caches/keys.js";
import type { Ed25519Engine } from "./ed25519.js";
import type { SignatureBatch, SignatureVerdicts } from "./signature-thread.js";

export interface SignatureVerifier {
  verify: SignatureVerify;
  /** What verified the signatures so far: the thread's engine, or libuv's pool (node:crypto). */
  engine(): string | null;
  /** Ends the thread; what is still waiting is verified on the pool instead. */
  close(): void;
}

export interface VerifierOptions {
  /** The thread's ed25519 engine (default: the fastest that loads). */
  engine?: Ed25519Engine;
}

/** A turn's requests go out at the end of that turn, or once this many have gathered. */
const MAX_BATCH = 512;

interface Waiting {
  item: [fingerprint: string, signature: string, key: PublicKey];
  resolve(ok: boolean): void;
}

const POOL_ENGINE = "node:crypto on libuv's pool";

const onPool = (waiting: readonly Waiting[]) => {
  for (const w of waiting) verifyOnThreadPool(...w.item).then(w.resolve, () => w.resolve(false));
};

/** One signature thread and the batches it has not answered yet. */
class SignatureThread {
  private worker: Worker | null;
  private readonly sent = new Map<number, Waiting[]>();
  private nextId = 0;
  /** What verified this thread's batches: its engine, and the pool once the thread was gone. */
  readonly engines = new Set<string>();

  constructor(file: URL, engine: Ed25519Engine | undefined) {
    // No inherited node options: the thread needs none, and some (--input-type) would stop it starting.
    this.worker = new Worker(file, { workerData: { engine }, execArgv: [] });
    // It holds the process open only while it has work: an idle thread must not delay the exit.
    this.worker.unref();
    this.worker.on("message", ({ id, ok, engine }: SignatureVerdicts) => {
      this.engines.add(engine);
      const waiting = this.sent.get(id) ?? [];
      this.sent.delete(id);
      if (this.sent.size === 0) this.worker?.unref();
      for (const [i, w] of waiting.entries()) w.resolve(ok[i] === 1);
    });
    this.worker.on("error", () => this.end());
    this.worker.on("exit", () => this.end());
  }

  send(waiting: Waiting[]): void {
    if (!this.worker) {
      this.engines.add(POOL_ENGINE);
      onPool(waiting);
      return;
    }
    const id = this.nextId++;
    this.sent.set(id, waiting);
    this.worker.ref();
    const batch: SignatureBatch = {
      id,
      fingerprints: waiting.map((w) => w.item[0]),
      signatures: waiting.map((w) => w.item[1]),
      keys: waiting.map((w) => w.item[2].base64),
    };
    this.worker.postMessage(batch);
  }

  /** The thread is gone (it failed, or was closed): what it still had goes to the pool. */
  end(): void {
    this.worker?.terminate().catch(() => undefined);
    this.worker = null;
    for (const waiting of this.sent.values()) {
      this.engines.add(POOL_ENGINE);
      onPool(waiting);
    }
    this.sent.clear();
  }
}

/**
 * A verifier whose thread starts now (it boots while settings and derivations are read). One is
 * enough: with libsodium it verifies about 16,000 signatures a second (docs/binary-caches.md#signatures).
 * Running from the TypeScript sources (the in-process tests) there is no compiled thread file, and
 * the pool does the work.
 */
export function signatureVerifier(options: VerifierOptions = {}): SignatureVerifier {
  const file = new URL("./signature-thread.js", import.meta.url);
  if (!existsSync(fileURLToPath(file))) {
    let used = false;
    const verify: SignatureVerify = (...item) => {
      used = true;
      return verifyOnThreadPool(...item);
    };
    return { verify, engine: () => (used ? POOL_ENGINE : null), close: () => {} };
  }
  const thread = new SignatureThread(file, options.engine);
  let batch: Waiting[] = [];
  let scheduled: NodeJS.Immediate | null = null;
  const flush = () => {
    scheduled = null;
    const waiting = batch;
    batch = [];
    if (waiting.length > 0) thread.send(waiting);
  };
  return {
    verify: (fingerprint, signature, key) =>
      new Promise((resolve) => {
        batch.push({ item: [fingerprint, signature, key], resolve });
        if (batch.length >= MAX_BATCH) flush();
        else scheduled ??= setImmediate(flush);
      }),
    engine: () => [...thread.engines].join(", ") || null,
    close() {
      if (scheduled) clearImmediate(scheduled);
      flush();
      thread.end();
    },
  };
}
