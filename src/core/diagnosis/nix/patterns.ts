/**
 * Why a Nix remote (distributed) build failed, from what `nix build` / `nix-build` printed on
 * stderr. The input may be the whole output: many lines, ANSI colours, `error:` prefixes, the
 * 7-space indentation of continuation lines, `… while …` trace lines, build logs, and several
 * builders failing one after the other.
 *
 * Message texts are Nix's own (NixOS/nix and DeterminateSystems/nix-src); each pattern notes the
 * versions that print that wording. This file is that table: the rest of diagnosis/nix/ reads
 * Nix's wordings only from here. ssh's part of a message is decided by classifySshFailure.
 *
 * Where ssh's stderr goes (it matters for finding it):
 * - ssh:// in the build hook: Nix forces `log-fd=4`, so ssh's stderr is appended to the same
 *   line, `cannot build on '<uri>': <error>: <ssh stderr>`, continued on the following lines.
 * - ssh-ng:// and stores opened outside the hook: ssh inherits stderr, so its lines come
 *   *before* Nix's error. With a Nix daemon they go to the daemon's own log instead and the user
 *   sees only Nix's line (NixOS/nix#8632, nix-darwin#913).
 */

/** `cannot build on '<uri>': <error>[: <ssh stderr>]` (2.1+; 2.1 added ssh's stderr, commit 1aca195e52). */
export const CANNOT_BUILD_ON = /^cannot build on '([^']+)':\s*(.*)$/;
/** Nix 2.0's form of the same. */
export const UNABLE_OPEN_SSH =
  /^unable to open SSH connection to '([^']+)':\s*(.*?)(?:;\s*trying other available machines\.*)?$/;
/** The hook, after the builder returned a failure (2.0+). */
export const BUILD_OF_ON = /^build of '([^']+)' on '([^']+)' failed:\s*(.*)$/;
export const OPEN_REMOTE_STORE = /cannot open connection to remote store '([^']+)'/;
/** ssh exited before LocalCommand printed "started" (2.15+, ssh.cc). */
export const FAILED_START_SSH = /failed to start SSH connection to '([^']+)'/;
/** LegacySSHStore: EOF during the `nix-store --serve` handshake (all versions). */
export const CANNOT_CONNECT_HOST = /cannot connect to '([^']+)'/;
/** RemoteStore EOF: ≤2.19 "unexpected end-of-file"; 2.20+ (commit a3cf27ca47) the daemon wording. */
export const EOF_LINE = /^(?:unexpected end-of-file|Nix daemon disconnected unexpectedly \(maybe it crashed\?\))$/;
export const EOF_ANY = /unexpected end-of-file|Nix daemon disconnected unexpectedly/;

export const SSH_MISSING = /unable to execute 'ssh'(?::\s*(.*))?/;
/** 2.4+ "cannot connect to socket at"; ≤2.3 "cannot connect to daemon at". */
export const SOCKET_DOWN =
  /cannot connect to (socket|daemon) at '([^']+)':\s*(Connection refused|No such file or directory)/;
/** bash, bash -c ("line 1:"), dash/ash ("1: … not found"), zsh, fish, tcsh; or a wrong absolute remote-program. */
export const CMD_NOT_FOUND =
  /(?:^|[\s:/])(nix-store|nix-daemon)(?::\s*(?:command not found|not found|Command not found\.?|No such file or directory))|command not found: (?:\S*\/)?(nix-store|nix-daemon)\b|Unknown command:?\s*'?(?:\S*\/)?(nix-store|nix-daemon)/;
/** ssh-ng 2.4+ (PR #5290). `got` may continue on the next lines. */
export const PROTO_NG = /protocol mismatch, got '(.*)$/;
/** ssh:// 2.4+: "'nix-store --serve' protocol mismatch from 'host', got '…'" (without "got" when nothing was read). */
export const PROTO_SERVE = /'nix-store --serve' protocol mismatch from '([^']+)'(?:, got '(.*))?$/;
/** ssh:// ≤2.3. */
export const PROTO_SERVE_OLD = /protocol mismatch with 'nix-store --serve' on '([^']+)'/;
/** ≤2.3: shell noise read as the protocol's first integer. */
export const SERIALISED_INT = /serialised integer (\d+) is too large for type/;
/** The builder's store: SQLite "disk I/O error" (captured with a full /nix, Nix 2.8), ENOSPC. */
export const DISK_FULL = /No space left on device|disk I\/O error|database or disk is full/;
/** daemon.cc buildDerivation: 2.4+ "input-addressed derivations"; ≤2.3 "derivations". */
export const NOT_PRIVILEGED = /you are not privileged to build (input-addressed )?derivations/;
/** local-store.cc: 2.12+ "a signature by a trusted key"; ≤2.11 "a valid signature". */
export const LACKS_SIG =
  /cannot (?:add path|register realisation) '([^']+)' because it lacks a (signature by a trusted key|valid signature)/;
/** daemon.cc: 2.22+ warning; 2.4–2.21 debug level (invisible); ≤2.3 "user-specified". */
export const CLIENT_IGNORED =
  /ignoring the (client|user)-specified setting 'builders', because it is a restricted setting and you are not a trusted user/;
export const EXTRA_BUILDERS = /unknown setting 'extra-builders'/;
/** machines.cc 2.5+ (PR #5374); base64 column 2.5–2.24; 'float' 2.20+. */
export const BAD_MACHINE = /^bad machine specification: (.*)$/;
/** machines.cc ≤2.4. */
export const BAD_MACHINE_OLD = /^bad machine specification '(.*)'$/;
/** 2.25+: a bad host key is a base64 error with this trace. */
export const MACHINE_TRACE = /while parsing machine specification at a column #(\d+) in a row: '(.*)'$/;
export const SPEED_FACTOR = /^speed factor must be >= 0$/;
/** ≤2.4: std::stoull's exception text (libstdc++ "stoull", libc++ "stoull: no conversion"). */
export const STOULL = /^sto(?:ull|ul|f)(?:: (?:no conversion|out of range))?$/;

/** ≤2.29 (Determinate < 3.6.1), derivation-builder / local-derivation-goal. */
export const I_AM_A =
  /a '([^']+)' with features \{([^}]*)\} is required to build '([^']+)', but I am a '([^']+)' with features \{([^}]*)\}/;
/** 2.29+ build failures, 2.30–2.33 and 2.34+ rejections. */
export const CANNOT_BUILD = /^Cannot build '([^']+)'\.?$/;
export const CANNOT_BUILD_PART =
  /^(?:Reason: |Required (?:system|features): |Current system: |Available features: |Hint: |Note: |Output paths:|\/nix\/store\/|[Ll]ast \d+ log lines:|>|For full logs|nix log |nix-store -l )/;
/** ≤2.28: "builder for '…' failed with exit code 1" [2.3 "; last N log lines:", 2.4+ ";" + next line]. */
export const BUILDER_FOR =
  /^builder for '([^']+)' (failed with exit code (\d+)|failed due to signal [^;]*|died abnormally)(?:;\s*(?:last (\d+) log lines:)?)?$/;
export const UNABLE_START = /^([Uu])nable to start any build;?\s*(.*)$/;
export const FAILED_TO_FIND = /^Failed to find a machine for remote build!?$/;

/** A remote store URI in a line: "building '…' on 'ssh-ng://b'", "copying … to 'ssh://b'", "cannot build on '…'". */
export const BUILDER_CONTEXT = /(?:\bon|\bto|\bfrom) '((?:ssh|ssh-ng):\/\/[^']+)'/;
export const BUILDING_ON = /^(?:building|checking outputs of|repairing outputs of) '([^']+)' on '([^']+)'/;

export const NIX_PROFILE_BIN = "/nix/var/nix/profiles/default/bin";
