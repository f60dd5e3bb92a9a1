// A binary cache on loopback for tests: real caches made by `nix copy --to file://…` (signed with a
// key from `nix-store --generate-binary-cache-key`), served over HTTP by a small server the test
// starts and stops. Modes reproduce what real caches do: serve, refuse (403), hang, or want basic
// auth. Each server gets a fresh port, so its URL is new to Nix (which remembers misses for an hour).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import * as path from "node:path";

export type CacheMode = "serve" | "forbidden" | "hang" | "basic-auth";

export interface CacheServerOptions {
  /** Directory with nix-cache-info, *.narinfo and nar/ (e.g. made by makeCache). */
  dir: string;
  /** 127.0.0.x to listen on; default 127.0.0.1. */
  address?: string;
  mode?: CacheMode;
  /** For basic-auth: the only login and password accepted. */
  credentials?: { login: string; password: string };
}

export interface CacheRequestLog {
  method: string;
  path: string;
  status: number;
}

/** One loopback binary cache server. */
export class CacheServer {
  mode: CacheMode;
  readonly requests: CacheRequestLog[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly dir: string,
    readonly url: string,
    mode: CacheMode,
    private readonly credentials: { login: string; password: string } | undefined,
  ) {
    this.mode = mode;
  }

  static async start(options: CacheServerOptions): Promise<CacheServer> {
    const address = options.address ?? "127.0.0.1";
    if (!/^127\.\d+\.\d+\.\d+$/.test(address)) throw new Error(`cache servers listen on loopback only, not ${address}`);
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, address, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const cache = new CacheServer(
      server,
      options.dir,
      `http://${address}:${port}`,
      options.mode ?? "serve",
      options.credentials,
    );
    server.on("connection", (socket) => {
      cache.sockets.add(socket);
      socket.on("close", () => cache.sockets.delete(socket));
    });
    server.on("request", (req, res) => cache.handle(req, res));
    return cache;
  }

  /** narinfo requests seen so far for a store path's hash part. */
  narinfoRequests(storePath: string): number {
    const hash = path.basename(storePath).slice(0, 32);
    return this.requests.filter((r) => r.path === `/${hash}.narinfo`).length;
  }

  /** NAR downloads served (status 200). */
  narDownloads(): number {
    return this.requests.filter((r) => r.path.startsWith("/nar/") && r.status === 200).length;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const urlPath = decodeURIComponent((req.url ?? "/").split("?")[0] ?? "/");
    if (this.mode === "hang") {
      this.requests.push({ method: req.method ?? "", path: urlPath, status: 0 });
      return; // never answers; stop() destroys the socket
    }
    const reply = (status: number, body: string | Buffer, type = "text/plain") => {
      this.requests.push({ method: req.method ?? "", path: urlPath, status });
      res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (this.mode === "forbidden") {
      reply(403, "Forbidden\n");
      return;
    }
    if (this.mode === "basic-auth" && !this.authorised(req.headers.authorization)) {
      this.requests.push({ method: req.method ?? "", path: urlPath, status: 401 });
      res.writeHead(401, { "www-authenticate": 'Basic realm="cache"', "content-length": 0 });
      res.end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      reply(405, "");
      return;
    }
    const file = path.join(this.dir, path.normalize(urlPath));
    if (!file.startsWith(this.dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      reply(404, "404 not found\n");
      return;
    }
    const type =
      urlPath === "/nix-cache-info"
        ? "text/x-nix-cache-info"
        : urlPath.endsWith(".narinfo")
          ? "text/x-nix-narinfo"
          : "application/octet-stream";
    reply(200, fs.readFileSync(file), type);
  }

  private authorised(header: string | undefined): boolean {
    if (!this.credentials || !header?.startsWith("Basic ")) return false;
    const [login, ...rest] = Buffer.from(header.slice(6), "base64").toString("utf8").split(":");
    return login === this.credentials.login && rest.join(":") === this.credentials.password;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface SigningKey {
  name: string;
  secretKeyFile: string;
  /** `name:base64`, as trusted-public-keys takes it. */
  publicKey: string;
}

/** A new signing key pair in `dir` (nix-store --generate-binary-cache-key, no experimental feature needed). */
export function makeSigningKey(dir: string, name: string): SigningKey {
  fs.mkdirSync(dir, { recursive: true });
  const secretKeyFile = path.join(dir, `${name}.sec`);
  const publicFile = path.join(dir, `${name}.pub`);
  execFileSync("nix-store", ["--generate-binary-cache-key", name, secretKeyFile, publicFile]);
  fs.chmodSync(secretKeyFile, 0o600);
  return { name, secretKeyFile, publicKey: fs.readFileSync(publicFile, "utf8").trim() };
}

export interface MakeCacheOptions {
  /** Sign with this key (`secret-key=` on the copy); unsigned when omitted. */
  key?: SigningKey;
  /** Extra lines for nix-cache-info (e.g. "Priority: 30", "WantMassQuery: 1"). */
  cacheInfo?: string[];
  /** Runs the copy (e.g. inside the sandbox); default: this process's `nix`. */
  run?: (argv: string[]) => Promise<{ exitCode: number | null; stderr: string }>;
}

/**
 * A binary cache in `dir` holding `paths` and their closures, made by Nix itself:
 * `nix copy --to file://<dir>?compression=none[&secret-key=…]`.
 */
export async function makeCache(dir: string, paths: string[], options: MakeCacheOptions = {}): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const params = ["compression=none", ...(options.key ? [`secret-key=${options.key.secretKeyFile}`] : [])];
  const argv = [
    "nix",
    "--extra-experimental-features",
    "nix-command",
    "copy",
    "--to",
    `file://${dir}?${params.join("&")}`,
    ...paths,
  ];
  if (options.run) {
    const copied = await options.run(argv);
    if (copied.exitCode !== 0) throw new Error(`nix copy failed: ${copied.stderr}`);
  } else execFileSync(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  if (options.cacheInfo?.length) {
    const info = path.join(dir, "nix-cache-info");
    fs.writeFileSync(info, `${fs.readFileSync(info, "utf8").trimEnd()}\n${options.cacheInfo.join("\n")}\n`);
  }
}
