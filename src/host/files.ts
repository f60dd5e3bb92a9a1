import { constants } from "node:fs";
import { access, chmod, chown, copyFile, mkdir, open, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { CrossnixError } from "../errors.js";

/**
 * Replaces `realPath` with `contents` so that a crash at any instant leaves either the old or the
 * new file: write a temp file in the same directory, fsync it, give it the old file's mode and
 * owner, rename it over the old one, fsync the directory.
 */
export async function writeFileAtomic(realPath: string, contents: string, newFileMode = 0o644): Promise<void> {
  const dir = path.dirname(realPath);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const existing = await stat(realPath).catch(() => null);
  const mode = existing ? existing.mode & 0o7777 : newFileMode;
  const tmp = path.join(dir, `.${path.basename(realPath)}.crossnix-${process.pid}-${Date.now()}.tmp`);
  const handle = await open(tmp, "wx", mode);
  try {
    await handle.writeFile(contents, "utf8");
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(tmp).catch(() => {});
    throw error;
  }
  await handle.close();
  try {
    await chmod(tmp, mode); // open()'s mode is filtered by the umask
    if (existing && process.getuid?.() === 0) await chown(tmp, existing.uid, existing.gid);
    await rename(tmp, realPath);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    throw error;
  }
  await fsyncDir(dir);
}

export async function removeFileDurably(realPath: string): Promise<void> {
  await unlink(realPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
  await fsyncDir(path.dirname(realPath));
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r").catch(() => null);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await handle.close();
  }
}

/** Copies an existing file into the backup directory, keeping its absolute path below it. */
export async function backupFile(realPath: string, systemPath: string, backupRoot: string): Promise<string | null> {
  const existing = await stat(realPath).catch(() => null);
  if (!existing) return null;
  const target = path.join(backupRoot, systemPath);
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  await copyFile(realPath, target);
  await chmod(target, existing.mode & 0o777);
  return target;
}

/** Whether the current user could create or replace `realPath` (checks the nearest existing directory). */
export async function canWrite(realPath: string): Promise<boolean> {
  let dir = path.dirname(realPath);
  for (;;) {
    try {
      await access(dir, constants.W_OK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") return false;
      const parent = path.dirname(dir);
      if (parent === dir) return false;
      dir = parent;
    }
  }
  try {
    await access(realPath, constants.W_OK);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT";
  }
}

export interface Lock {
  release(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * An exclusive lock file holding the owner's PID. A lock whose owner died is taken over; a live
 * owner is waited for up to `waitMs`, then the caller gets a LOCKED error naming it.
 */
export async function acquireLock(realPath: string, waitMs = 15_000): Promise<Lock> {
  await mkdir(path.dirname(realPath), { recursive: true, mode: 0o755 });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(realPath, "wx", 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => unlink(realPath).catch(() => {}) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = Number.parseInt((await readSmall(realPath)) ?? "", 10);
    if (!Number.isInteger(owner) || !processAlive(owner)) {
      await unlink(realPath).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) {
      throw new CrossnixError("LOCKED", `another crossnix (pid ${owner}) is changing the configuration`, {
        hint: `wait for it to finish; the lock is ${realPath}`,
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function readSmall(realPath: string): Promise<string | null> {
  const handle = await open(realPath, "r").catch(() => null);
  if (!handle) return null;
  try {
    return (await handle.readFile("utf8")).trim();
  } finally {
    await handle.close();
  }
}
