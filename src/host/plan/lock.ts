// The machine-wide crossnix lock: an OS lock (flock(2)) on /etc/nix/crossnix/.lock, held by a small
// perl child for as long as this process lives. The kernel drops it when the holder dies in any way
// (SIGKILL, reboot), so it can never be half-taken or left behind; the file only names the last
// holder so that a waiting run can say who it waits for, and a new run can say whose lock it took over.
import { type ChildProcess, spawn } from "node:child_process";
import { open } from "node:fs/promises";
import path from "node:path";
import { CrossnixError } from "../../errors.js";
import { makeDirs } from "../system/files.js";

export interface Lock {
  /** Set when the previous holder died holding it (its pid and what it ran). */
  readonly tookOverFrom: string | null;
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to wait for a live holder before giving up (LOCKED, exit 1). */
  waitMs?: number;
  /** One line for the user: "waiting for …", "took over …". */
  notice?: (line: string) => void;
  /** What this run does, recorded for the next one's messages (e.g. the command line). */
  purpose?: string;
}

// Perl ships with macOS and is essential on Debian; flock(1) is not on macOS. Arguments come after
// `--`, so no path can be read as an option. O_NOFOLLOW: a planted symlink is never followed.
const HOLDER = String.raw`
use strict; use Fcntl qw(:flock O_RDWR O_CREAT O_NOFOLLOW); $| = 1;
my $path = $ARGV[0];
sysopen(my $fh, $path, O_RDWR | O_CREAT | O_NOFOLLOW, 0644) or do { print "error $!\n"; exit 3 };
if (!flock($fh, LOCK_EX | LOCK_NB)) { print "busy\n"; flock($fh, LOCK_EX) or do { print "error $!\n"; exit 3 } }
print "locked\n";
while (<STDIN>) {}
exit 0;
`;

const PERL = "/usr/bin/perl";

export async function acquireLock(lockPath: string, options: LockOptions = {}): Promise<Lock> {
  const waitMs = options.waitMs ?? 60_000;
  await makeDirs(path.dirname(lockPath)); // 0755 whatever the umask: users read known_hosts there
  const child = spawn(PERL, ["-e", HOLDER, "--", lockPath], { stdio: ["pipe", "pipe", "inherit"] });
  const state = await new Promise<"locked" | { error: string }>((resolve) => {
    let buffered = "";
    let timer: NodeJS.Timeout | undefined;
    child.once("error", (error) => resolve({ error: `cannot start ${PERL}: ${error.message}` }));
    child.once("exit", () => resolve({ error: buffered.match(/^error (.*)$/m)?.[1] ?? "the lock holder exited" }));
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      if (/^locked$/m.test(buffered)) {
        clearTimeout(timer);
        resolve("locked");
      } else if (/^busy$/m.test(buffered) && !timer) {
        void lastHolder(lockPath).then((holder) =>
          options.notice?.(
            `waiting for another crossnix (${holder ?? "unknown"}) to finish changing the configuration…`,
          ),
        );
        timer = setTimeout(async () => {
          const holder = await lastHolder(lockPath);
          resolve({ error: `busy: held by ${holder ?? "another crossnix"}` });
          child.kill("SIGKILL");
        }, waitMs);
      }
    });
  });
  if (state !== "locked") {
    child.kill("SIGKILL");
    if (state.error.startsWith("busy")) {
      throw new CrossnixError(
        "LOCKED",
        `another crossnix is still changing the configuration after ${Math.round(waitMs / 1000)} s (${state.error.slice(6)})`,
        {
          hint: `wait for it to finish and run the command again; the lock is ${lockPath}`,
        },
      );
    }
    throw new CrossnixError("IO", `cannot take the crossnix lock ${lockPath}: ${state.error}`, {
      hint: "it must be a regular file (not a directory or a symlink) in a writable directory",
    });
  }
  // Unref'd: holding the lock must not keep Node alive; the pipe closing at exit releases it.
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stdin as unknown as { unref?: () => void }).unref?.();

  const previous = await lastHolder(lockPath);
  const tookOverFrom = previous && !isOurs(previous) ? previous : null;
  if (tookOverFrom) options.notice?.(`took over the lock left by ${tookOverFrom}, which is no longer running`);
  await writeHolder(lockPath, `pid ${process.pid}${options.purpose ? ` (${options.purpose})` : ""}\n`);
  return {
    tookOverFrom,
    release: async () => {
      await writeHolder(lockPath, "").catch(() => {});
      await endHolder(child);
    },
  };
}

function isOurs(holder: string): boolean {
  return holder.startsWith(`pid ${process.pid} `) || holder === `pid ${process.pid}`;
}

/** The last holder named in the lock file ("pid 123 (crossnix builder add …)"), or null when released cleanly. */
async function lastHolder(lockPath: string): Promise<string | null> {
  const handle = await open(lockPath, "r").catch(() => null);
  if (!handle) return null;
  try {
    const text = (await handle.readFile("utf8")).trim();
    return text === "" ? null : text.slice(0, 300);
  } finally {
    await handle.close();
  }
}

async function writeHolder(lockPath: string, text: string): Promise<void> {
  const handle = await open(lockPath, "r+");
  try {
    await handle.truncate(0);
    await handle.write(text, 0);
  } finally {
    await handle.close();
  }
}

function endHolder(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.ref(); // unref'd while holding; waiting for it must keep Node running
    child.once("exit", () => resolve());
    child.stdin?.end();
  });
}
