// SSH identities (client keys) of the test bed.
import * as fs from "node:fs";
import * as path from "node:path";
import { check } from "./proc.js";
import { getRun } from "./run.js";

export interface Identity {
  /** Private key file on the host (0600, root, no passphrase). */
  privateKeyPath: string;
  publicKeyPath: string;
  /** "ssh-ed25519 AAAA… comment" */
  publicKey: string;
}

/** Make a new ed25519 key pair (no passphrase, 0600) in `dir`. */
export async function makeIdentity(dir: string, name: string, comment = `crossnix-testbed-${name}`): Promise<Identity> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privateKeyPath = path.join(dir, name);
  await check(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", privateKeyPath]);
  fs.chmodSync(privateKeyPath, 0o600);
  const publicKeyPath = privateKeyPath + ".pub";
  return { privateKeyPath, publicKeyPath, publicKey: fs.readFileSync(publicKeyPath, "utf8").trim() };
}

let client: Promise<Identity> | undefined;
let clientRunDir: string | undefined;

/**
 * The test bed's client identity: one ed25519 key per run, authorised on every builder that
 * startBuilders starts (unless told otherwise). Copy it where the code under test expects it,
 * e.g. sandbox.writeFile("/root/.ssh/id_ed25519", …, 0o600).
 */
export async function clientIdentity(): Promise<Identity> {
  const run = await getRun();
  if (!client || clientRunDir !== run.dir) {
    clientRunDir = run.dir;
    client = makeIdentity(path.join(run.dir, "client"), "id_ed25519", "crossnix-testbed-client");
  }
  return client;
}
