// Durable file primitives for the plan runner: atomic replace, backups, directory creation.
import { constants } from "node:fs";
import { access, chmod, chown, mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { encodeLossless } from "../../core/formats/bytes.js";

/**
 * Replaces `realPath` with `contents` so that a crash at any instant leaves either the old or the
 * new file: write `tmp` (a name the caller chose and journaled) in the same directory, fsync it,
 * give it the old file's mode and owner, rename it over the old one, fsync the directory.
 * `afterTemp` runs between the complete temp file and the rename (crash points in tests).
 */
export async function writeFileAtomic(
  realPath: string,
  contents: string | Uint8Array,
  newFileMode = 0o644,
  tmp = tempPathFor(realPath),
  afterTemp: () => void = () => {},
): Promise<void> {
  const dir = path.dirname(realPath);
  await makeDirs(dir);
  const existing = await stat(realPath).catch(() => null);
  const mode = existing ? existing.mode & 0o7777 : newFileMode;
  const bytes = typeof contents === "string" ? encodeLossless(contents) : contents;
  const handle = await open(tmp, "wx", mode);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(tmp).catch(() => {});
    throw error;
  }
  await handle.close();
  afterTemp();
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

/** A temp file name beside `realPath` that names this process (stray ones are found by the journal). */
export function tempPathFor(realPath: string, index = 0): string {
  return path.join(
    path.dirname(realPath),
    `.${path.basename(realPath)}.crossnix-${process.pid}-${Date.now()}-${index}.tmp`,
  );
}

/**
 * mkdir -p whose new directories are 0755 whatever the umask: the daemon and every user must be
 * able to read /etc/ssh/ssh_config.d and /etc/nix.
 */
export async function makeDirs(dir: string, mode = 0o755): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; !(await stat(d).catch(() => null)); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    await mkdir(d).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    });
    await chmod(d, mode);
  }
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

/**
 * Copies an existing file into the backup directory, keeping its absolute path below it and its
 * mode. The copy is created exclusively and never through a symlink (O_EXCL | O_NOFOLLOW), so a
 * link planted in the backup directory cannot redirect it. Returns null when there is no file.
 */
export async function backupFile(realPath: string, systemPath: string, backupRoot: string): Promise<string | null> {
  const existing = await stat(realPath).catch(() => null);
  if (!existing) return null;
  const target = path.join(backupRoot, systemPath);
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const bytes = await readFile(realPath);
  const handle = await open(
    target,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    await handle.writeFile(bytes);
    await handle.chmod(existing.mode & 0o7777);
    await handle.sync();
  } finally {
    await handle.close();
  }
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
