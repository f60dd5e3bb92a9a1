/**
 * Why an ssh connection to a builder failed, from OpenSSH's own stderr. Each cause has the fix a
 * person would apply; the texts are OpenSSH's (they have been stable for a decade).
 */
export type SshFailureCause =
  | "timeout"
  | "refused"
  | "unreachable"
  | "dns"
  | "host-key-changed"
  | "host-key-unknown"
  | "auth"
  | "key-permissions"
  | "ssh-missing"
  | "unknown";

export interface SshFailure {
  cause: SshFailureCause;
  summary: string;
  fix: string;
  /** The ssh stderr line that decided it. */
  evidence: string;
}

interface Rule {
  cause: SshFailureCause;
  pattern: RegExp;
  summary: string;
  fix: (ctx: { host: string }) => string;
}

const RULES: Rule[] = [
  {
    cause: "host-key-changed",
    pattern: /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed|host key .* does not match/i,
    summary: "the builder presented a different host key than the pinned one (possible impersonation)",
    fix: ({ host }) =>
      `if the builder was reinstalled, check its new fingerprint out of band, then run 'crossnix doctor --builder ${host} --fix' to re-pin it`,
  },
  {
    cause: "host-key-unknown",
    pattern: /Host key verification failed|No (?:ED25519|RSA|ECDSA)? ?host key is known|host key is not known/i,
    summary: "the builder's host key is not known to the connecting user (root, for the Nix daemon)",
    fix: ({ host }) => `pin the host key: 'crossnix builder add' writes it to machines column 8 for ${host}`,
  },
  {
    cause: "key-permissions",
    pattern: /UNPROTECTED PRIVATE KEY FILE|bad permissions|Load key .*: (?:Permission denied|No such file)/i,
    summary: "the identity file is missing, unreadable, or readable by others",
    fix: () => "the key must exist, belong to root and have mode 0600",
  },
  {
    cause: "auth",
    pattern: /Permission denied \(|Too many authentication failures|no mutual signature|Authentication failed/i,
    summary: "the builder rejected the key (a passphrase-protected or agent-only key is invisible to the daemon)",
    fix: ({ host }) =>
      `install the daemon's public key on the builder: 'crossnix builder add … --copy-key' (builder ${host})`,
  },
  {
    cause: "dns",
    pattern: /Could not resolve hostname|Name or service not known|nodename nor servname/i,
    summary: "the host name does not resolve",
    fix: () => "check the HostName in the ssh alias, or use an IP address",
  },
  {
    cause: "refused",
    pattern: /Connection refused/i,
    summary: "nothing listens on the SSH port (sshd stopped, VM down, or wrong port)",
    fix: () => "start the builder / its sshd, or fix the port",
  },
  {
    cause: "timeout",
    pattern: /Connection timed out|Operation timed out|timed out during banner exchange|Connection to .* timed out/i,
    summary: "the builder did not answer in time (down, firewalled, or hung)",
    fix: () => "check that the builder is up and reachable; raise --timeout for slow links",
  },
  {
    cause: "unreachable",
    pattern: /No route to host|Network is unreachable|Host is down/i,
    summary: "the network path to the builder is down",
    fix: () => "check the network and the builder's address",
  },
];

export function classifySshFailure(
  stderr: string,
  options: { timedOut?: boolean; spawnError?: string; host: string },
): SshFailure {
  if (options.spawnError) {
    return {
      cause: "ssh-missing",
      summary: "ssh could not be started",
      fix: "install OpenSSH's client and make sure it is on the PATH of the Nix daemon",
      evidence: options.spawnError,
    };
  }
  const lines = stderr.split("\n");
  for (const rule of RULES) {
    const line = lines.find((l) => rule.pattern.test(l));
    if (line)
      return { cause: rule.cause, summary: rule.summary, fix: rule.fix({ host: options.host }), evidence: line.trim() };
  }
  if (options.timedOut) {
    return {
      cause: "timeout",
      summary: "the builder did not answer in time (down, firewalled, or hung)",
      fix: "check that the builder is up and its sshd responsive; raise --timeout for slow links",
      evidence: "no answer before the timeout",
    };
  }
  const last =
    lines
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? "";
  return {
    cause: "unknown",
    summary: "ssh failed",
    fix: "run the ssh command shown with -v to see why",
    evidence: last,
  };
}
