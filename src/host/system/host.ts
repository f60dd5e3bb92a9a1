// The Host: every effect crossnix has on the world (files, programs, environment), rooted for tests.
import { readdir, readFile, readlink, stat } from "node:fs/promises";
import os from "node:os";
import { decodeLossless } from "../../core/formats/bytes.js";
import { CrossnixError } from "../../errors.js";
import { type Exec, exec } from "./exec.js";
import { resolveSystemPath, rootDir } from "./paths.js";

/**
 * Everything a use case may do to the world. Tests build a real one rooted in a temp directory
 * (`CROSSNIX_ROOT`) and, where a program cannot run here, put a stand-in on PATH.
 */
export interface Host {
  /** The directory standing in for `/`. */
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  readonly uid: number;
  readonly homeDir: string;
  readonly exec: Exec;
  now(): Date;
  /** Real location of an absolute system path. */
  path(systemPath: string): string;
  /** File contents, or null when it does not exist. */
  readText(systemPath: string): Promise<string | null>;
  /** Link target when the path is a symlink, else null. */
  linkTarget(systemPath: string): Promise<string | null>;
  exists(systemPath: string): Promise<boolean>;
  /** Names in a directory ([] when it does not exist). */
  list(systemPath: string): Promise<string[]>;
}

export function createHost(env: NodeJS.ProcessEnv = process.env): Host {
  const root = rootDir(env);
  const resolve = (p: string) => resolveSystemPath(p, root);
  return {
    root,
    env,
    platform: (env["CROSSNIX_PLATFORM"] as NodeJS.Platform | undefined) ?? process.platform,
    arch: env["CROSSNIX_ARCH"] ?? process.arch,
    uid: process.getuid?.() ?? 0,
    homeDir: env["HOME"] ?? os.homedir(),
    exec,
    now: () => new Date(),
    path: resolve,
    readText: (p) => readTextOrNull(resolve(p)),
    linkTarget: async (p) => {
      try {
        return await readlink(resolve(p));
      } catch {
        return null;
      }
    },
    list: (p) => readdir(resolve(p)).catch(() => [] as string[]),
    exists: async (p) => {
      try {
        await stat(resolve(p));
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** A file's text, every byte kept (see core/bytes.ts), or null when it does not exist. */
export async function readTextOrNull(realPath: string): Promise<string | null> {
  try {
    return decodeLossless(await readFile(realPath));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    if (code === "EACCES") {
      throw new CrossnixError("PERMISSION", `cannot read ${realPath}: permission denied`, {
        hint: "run crossnix with sudo, or as a user who can read it",
      });
    }
    throw new CrossnixError("IO", `cannot read ${realPath}: ${(error as Error).message}`);
  }
}
