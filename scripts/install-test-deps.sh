#!/bin/sh
# Prepare this machine for crossnix's integration tests (testbed, tests/integration).
#
# Run as root on Debian 12 or Ubuntu (22.04+). Idempotent: every step checks whether it is
# already done, so a re-run on a prepared machine takes well under a second and never calls apt.
#
# What it does:
#   1. installs nix-bin openssh-server openssh-client qemu-user-static binfmt-support sudo
#      (one `apt-get update` for the whole run, and only when something must be fetched);
#      sudo is for `builder setup-remote` tests: builder users get passwordless sudo only inside
#      their builder's mount namespace (a private /etc/sudoers.d); this script does not touch
#      /etc/sudoers or /etc/sudoers.d;
#   2. mounts binfmt_misc and enables qemu-aarch64 (real aarch64-linux builds via QEMU);
#   3. puts Debian's static arm64 busybox at $CACHE/busybox-arm64/bin/busybox (the builder of
#      the test bed's aarch64-linux derivation);
#   4. prepares /nix for a root nix-daemon (nixbld group + users, nix-users group,
#      daemon-socket dir, store init) and stops a systemd-managed nix-daemon, because the test
#      bed runs its own daemon on /nix/var/nix/daemon-socket/socket;
#   5. creates the test bed's users (cxclient, cxb1..cxb8) so the first test run is faster
#      (the test bed would create them itself otherwise);
#   6. makes / 0755 as on any installed system (Nix's build users and the test bed's users run
#      programs below it; a root file system unpacked from a 0700 directory is not usable).
# The test bed creates its own mount targets (/etc/nix, /root/.ssh, …) and removes them after.
#
# Environment: CROSSNIX_TESTBED_CACHE (default /var/cache/crossnix-testbed),
#              CROSSNIX_TESTBED_BUILDER_USERS (default 8).
set -eu

CACHE="${CROSSNIX_TESTBED_CACHE:-/var/cache/crossnix-testbed}"
NUSERS="${CROSSNIX_TESTBED_BUILDER_USERS:-8}"
BUSYBOX="$CACHE/busybox-arm64/bin/busybox"
# tmux: the live build view is tested through a real pseudo-terminal.
PACKAGES="nix-bin openssh-server openssh-client qemu-user-static binfmt-support sudo tmux"

say() { printf 'install-test-deps: %s\n' "$*"; }
die() { printf 'install-test-deps: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root"
command -v apt-get >/dev/null 2>&1 || die "needs apt-get (Debian 12 / Ubuntu)"

export DEBIAN_FRONTEND=noninteractive

. /etc/os-release
DISTRO="${ID:-debian}"
CODENAME="${VERSION_CODENAME:-}"
NATIVE_ARCH="$(dpkg --print-architecture)"

# ---------------------------------------------------------------------------------------------
# apt: at most one `apt-get update` per run.
APT_UPDATED=0
apt_update_once() {
	if [ "$APT_UPDATED" -eq 0 ]; then
		say "apt-get update"
		apt-get update -qq
		APT_UPDATED=1
	fi
}

missing_packages() {
	for p in $PACKAGES; do
		status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
		case "$status" in
		*" installed") ;;
		*) printf '%s ' "$p" ;;
		esac
	done
}

need_busybox=0
[ -x "$BUSYBOX" ] || need_busybox=1

# On Debian the arm64 busybox comes from the normal mirrors once arm64 is a foreign
# architecture; add it *before* the single apt-get update so one update covers both.
if [ "$need_busybox" -eq 1 ] && [ "$DISTRO" = debian ] && [ "$NATIVE_ARCH" != arm64 ]; then
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		say "dpkg --add-architecture arm64"
		dpkg --add-architecture arm64
	fi
fi

MISSING="$(missing_packages)"
if [ -n "$MISSING" ]; then
	apt_update_once
	say "installing: $MISSING"
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $MISSING
else
	say "packages already installed"
fi

# ---------------------------------------------------------------------------------------------
# cgroup cpu controller: the throughput tests slow a builder down for real with a CPU quota.
# systemd mounts it on an installed system; a fresh container or pivot_root (fresh-ci's) has an
# empty /sys/fs/cgroup, so mount the controller where Debian puts it (v1), or cgroup2 instead.
if [ ! -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] && ! grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	mounted_tmpfs=0
	if ! mountpoint -q /sys/fs/cgroup; then
		mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup && mounted_tmpfs=1
	fi
	mkdir -p /sys/fs/cgroup/cpu
	if mount -t cgroup -o cpu cgroup /sys/fs/cgroup/cpu 2>/dev/null; then
		say "mounted the cgroup v1 cpu controller"
	else
		rmdir /sys/fs/cgroup/cpu
		if [ "$mounted_tmpfs" -eq 1 ]; then
			umount /sys/fs/cgroup
			mount -t cgroup2 cgroup2 /sys/fs/cgroup && say "mounted cgroup2"
		fi
	fi
fi

# ---------------------------------------------------------------------------------------------
# binfmt_misc + qemu-aarch64
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
	say "mounting binfmt_misc"
	mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ "$NATIVE_ARCH" != arm64 ]; then
	if ! grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
		say "update-binfmts --enable qemu-aarch64"
		update-binfmts --enable qemu-aarch64
	fi
	grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
		die "qemu-aarch64 is not enabled in binfmt_misc"
	# The test bed runs builds inside other mount namespaces: the interpreter must be opened
	# at registration time (F flag), which Debian's qemu-user-static does.
	grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
		say "warning: qemu-aarch64 binfmt entry lacks the F flag; builds in namespaces may fail"
fi

# ---------------------------------------------------------------------------------------------
# arm64 busybox-static
if [ "$need_busybox" -eq 1 ]; then
	work="$(mktemp -d)"
	chmod 0755 "$work" # apt downloads as _apt
	trap 'rm -rf "$work"' EXIT
	if [ "$DISTRO" = debian ] || [ "$NATIVE_ARCH" = arm64 ]; then
		apt_update_once
		say "apt-get download busybox-static:arm64"
		(cd "$work" && apt-get download -qq busybox-static:arm64)
	else
		# Ubuntu serves arm64 from ports.ubuntu.com, not from the amd64 mirrors, so adding
		# the architecture system-wide would break `apt-get update`. Use a private apt state
		# (own sources list, own lists dir) that only this script reads. Untested in CI.
		[ -n "$CODENAME" ] || die "cannot tell the Ubuntu codename"
		mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
		printf 'deb [arch=arm64] http://ports.ubuntu.com/ubuntu-ports %s main universe\n' \
			"$CODENAME" >"$work/sources.list"
		set -- -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/none" \
			-o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" \
			-o APT::Architecture=arm64 -o APT::Architectures=arm64
		say "apt-get update (private, arm64 from ports.ubuntu.com)"
		apt-get "$@" update -qq
		say "apt-get download busybox-static:arm64"
		(cd "$work" && apt-get "$@" download -qq busybox-static:arm64)
	fi
	deb="$(ls "$work"/busybox-static_*_arm64.deb)"
	dpkg -x "$deb" "$work/x"
	src=""
	for cand in "$work/x/bin/busybox" "$work/x/usr/bin/busybox"; do
		[ -f "$cand" ] && src="$cand" && break
	done
	[ -n "$src" ] || die "busybox not found in $deb"
	install -d -m 0755 "$CACHE/busybox-arm64/bin"
	install -m 0755 "$src" "$BUSYBOX.tmp"
	mv -f "$BUSYBOX.tmp" "$BUSYBOX"
	say "busybox at $BUSYBOX"
else
	say "busybox already at $BUSYBOX"
fi

# ---------------------------------------------------------------------------------------------
# /nix for a root nix-daemon (what Debian's nix-setup-systemd + systemd-tmpfiles would do).
groupadd --force --system nix-users
groupadd --force --system nixbld
NOLOGIN="$(command -v nologin || echo /usr/sbin/nologin)"
for n in 1 2 3 4 5 6 7 8 9 10; do
	if ! id "nixbld$n" >/dev/null 2>&1; then
		useradd --system --comment "Nix build user $n" --home-dir /var/empty \
			--gid nixbld --groups nixbld --no-user-group --shell "$NOLOGIN" "nixbld$n"
	fi
done
install -d -m 0755 /nix /nix/var /nix/var/nix /nix/var/nix/profiles /nix/var/nix/gcroots
install -d -m 0770 -o root -g nix-users /nix/var/nix/daemon-socket
install -d -m 1777 /nix/var/nix/profiles/per-user /nix/var/nix/gcroots/per-user
if [ ! -d /nix/store ] || [ ! -f /nix/var/nix/db/db.sqlite ]; then
	say "initialising the local Nix store"
	NIX_REMOTE=local nix-store --init
fi
# The store must be 1775 root:nixbld for a multi-user daemon (Nix creates it 1775 already;
# this only repairs an older checkout).
chgrp nixbld /nix/store
chmod 1775 /nix/store

# A systemd-managed daemon would answer on the socket the test bed's daemon needs.
if [ -d /run/systemd/system ]; then
	for unit in nix-daemon.socket nix-daemon.service; do
		if systemctl is-active --quiet "$unit" || systemctl is-enabled --quiet "$unit" 2>/dev/null; then
			say "systemctl disable --now $unit (the test bed runs its own nix-daemon)"
			systemctl disable --now "$unit" || true
		fi
	done
fi

# ---------------------------------------------------------------------------------------------
# Test bed users. The test bed creates missing ones itself; doing it here keeps the first run
# fast. Builder users log in with bash (the noisyShell fault relies on bash sourcing ~/.bashrc).
ensure_user() { # name home shell extra-groups
	if ! id "$1" >/dev/null 2>&1; then
		if [ -n "$4" ]; then
			useradd --create-home --home-dir "$2" --shell "$3" --groups "$4" "$1"
		else
			useradd --create-home --home-dir "$2" --shell "$3" "$1"
		fi
		# '*': no password can match, but the account is not "locked" ('!'), which sshd
		# without PAM would refuse even for key logins.
		usermod -p '*' "$1"
		say "created user $1"
	fi
}
ensure_user cxclient /home/cxclient /bin/bash nix-users
usermod -a -G nix-users cxclient
i=1
while [ "$i" -le "$NUSERS" ]; do
	ensure_user "cxb$i" "/home/cxb$i" /bin/bash ""
	i=$((i + 1))
done

# ---------------------------------------------------------------------------------------------
# Build users (nixbld*) and the test bed's users must reach and list / as on any installed system
# (0755): with 0701, Nix as a non-root client fails with "cannot get cwd: Permission denied".
if [ "$(stat -c '%a' /)" != 755 ]; then
	say "chmod 755 / (it was $(stat -c '%a' /))"
	chmod 755 /
fi

say "done"
