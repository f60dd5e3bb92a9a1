// What a builder's machine would get from its init system and from sudo, for what cannot run
// here: there is no systemd on the test machine, and the machine's own /etc/sudoers* must never
// change. Both are confined to the builder's mount namespace.
//
// - A supervisor (a small sh script, run as root in the namespace) plays systemd's part for one
//   unit, nix-daemon.service: it starts the daemon, records its MainPID, and on a restart request
//   (SIGHUP) stops it with SIGTERM, waits for it to exit, and starts it again. Like the upstream
//   unit (KillMode=process), only the main process is stopped: running builds finish.
// - A `systemctl` stand-in, bind-mounted over /usr/bin/systemctl in the namespace (or overlaid
//   when the machine has none), implements only `systemctl restart nix-daemon[.service]` (root
//   only, like the real one without polkit) and `is-active`, by signalling that supervisor.
//   Everything else fails loudly, so nothing can silently rely on more of systemd than this.
// - sudo is Debian's real sudo; the builder's /etc/sudoers.d is a private directory holding at
//   most one rule, `cxb<i> ALL=(root) NOPASSWD: ALL` (0440), present only while sudo is on.
import * as fs from "node:fs";
import * as path from "node:path";
import { shq } from "./proc.js";

/** Where the supervisor keeps its state (host path = namespace path: /tmp is shared). */
export interface UnitPaths {
  /** Directory: supervisor.pid, main.pid (the daemon's MainPID), journal. */
  stateDir: string;
  /** The supervisor script. */
  supervisor: string;
  /** The systemctl stand-in, alone in its directory (for the overlay fallback). */
  systemctl: string;
}

export function unitPaths(builderDir: string): UnitPaths {
  const stateDir = path.join(builderDir, "systemd");
  return { stateDir, supervisor: path.join(stateDir, "supervise"), systemctl: path.join(stateDir, "bin/systemctl") };
}

/**
 * argv: supervise <state dir> <socket> -- <daemon argv…>. Exits when the daemon exits on its own
 * (the unit is then inactive, as systemd leaves a unit without Restart=) or on SIGTERM.
 */
const SUPERVISOR = `#!/bin/sh
# crossnix test bed: stands in for systemd supervising nix-daemon.service (see service.ts).
state=$1 socket=$2
shift 3
echo $$ > "$state/supervisor.pid"
stopping=0 restarting=0 child=
trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT
trap 'restarting=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' HUP
while :; do
  rm -f "$socket"
  "$@" &
  child=$!
  echo "$child" > "$state/main.pid.tmp" && mv -f "$state/main.pid.tmp" "$state/main.pid"
  echo "started $child" >> "$state/journal"
  status=0
  while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
  rm -f "$state/main.pid"
  echo "stopped $child ($status)" >> "$state/journal"
  if [ "$stopping" -eq 0 ] && [ "$restarting" -eq 1 ]; then restarting=0; continue; fi
  break
done
rm -f "$state/supervisor.pid"
`;

function systemctlStandIn(stateDir: string): string {
  return `#!/bin/sh
# crossnix test bed: a stand-in for systemctl in this builder's mount namespace (see
# testbed/service.ts). Only 'restart' and 'is-active' of nix-daemon[.service].
state=${shq(stateDir)}
socket=/nix/var/nix/daemon-socket/socket
[ $# -eq 2 ] || { echo "systemctl (crossnix test bed stand-in): only 'restart' and 'is-active' of nix-daemon.service are implemented; got: $*" >&2; exit 1; }
unit=$2
case "$unit" in *.service) ;; *) unit="$unit.service" ;; esac
alive() { [ -n "$1" ] && [ -d "/proc/$1" ]; }
main=$(cat "$state/main.pid" 2>/dev/null)
sup=$(cat "$state/supervisor.pid" 2>/dev/null)
case "$1" in
is-active)
  if [ "$unit" = nix-daemon.service ] && alive "$main"; then echo active; exit 0; fi
  echo inactive; exit 3 ;;
restart)
  if [ "$(id -u)" -ne 0 ]; then echo "Failed to restart $unit: Access denied" >&2; exit 1; fi
  if [ "$unit" != nix-daemon.service ] || ! alive "$sup"; then echo "Failed to restart $unit: Unit $unit not found." >&2; exit 5; fi
  kill -HUP "$sup"
  # Returns once the new daemon answers, as with the upstream unit's socket activation, where
  # the socket stays open across a restart.
  i=0
  while [ $i -lt 200 ]; do
    now=$(cat "$state/main.pid" 2>/dev/null)
    if [ -n "$now" ] && [ "$now" != "$main" ] && [ -S "$socket" ] &&
      /usr/bin/nix-store --store daemon -q --hash /nix/store/00000000000000000000000000000000-x 2>&1 | grep -q 'is not valid'; then
      exit 0
    fi
    i=$((i + 1)); sleep 0.05
  done
  echo "Job for $unit failed: the daemon did not come back within 10 s" >&2; exit 1 ;;
*)
  echo "systemctl (crossnix test bed stand-in): '$1' is not implemented" >&2; exit 1 ;;
esac
`;
}

/** Writes the supervisor and the stand-in (root-owned, 0755) into the builder's state dir. */
export function writeUnitFiles(builderDir: string): UnitPaths {
  const p = unitPaths(builderDir);
  fs.mkdirSync(path.dirname(p.systemctl), { recursive: true, mode: 0o755 });
  fs.chmodSync(p.stateDir, 0o755);
  fs.chmodSync(path.dirname(p.systemctl), 0o755);
  fs.writeFileSync(p.supervisor, SUPERVISOR, { mode: 0o755 });
  fs.writeFileSync(p.systemctl, systemctlStandIn(p.stateDir), { mode: 0o755 });
  return p;
}

/** The supervised daemon's MainPID, if it runs. */
export function mainPid(p: UnitPaths): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(p.stateDir, "main.pid"), "utf8").trim());
    return pid > 0 && fs.existsSync(`/proc/${pid}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** "started <pid>" / "stopped <pid> (<status>)" lines, oldest first. */
export function journal(p: UnitPaths): string[] {
  try {
    return fs.readFileSync(path.join(p.stateDir, "journal"), "utf8").trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** The builder's private /etc/sudoers.d: root 0755, with the user's NOPASSWD rule (0440) when on. */
export function writeSudoers(dir: string, user: string, on: boolean): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, user);
  if (!on) {
    fs.rmSync(file, { force: true });
    return;
  }
  fs.writeFileSync(
    `${file}.tmp`,
    `# crossnix test bed: passwordless sudo for ${user}, only in its builder's namespace\n${user} ALL=(root) NOPASSWD: ALL\n`,
    { mode: 0o440 },
  );
  fs.chmodSync(`${file}.tmp`, 0o440);
  // sudo skips files whose names contain '.', so the temporary name is never read.
  fs.renameSync(`${file}.tmp`, file);
}

/** Debian's sudo reads /etc/sudoers.d: only then can the builder get a private one. */
export function hostHasSudo(): boolean {
  return fs.existsSync("/usr/bin/sudo") && fs.existsSync("/etc/sudoers.d");
}
