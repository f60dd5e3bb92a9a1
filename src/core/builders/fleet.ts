// The builders of the machines files as crossnix reports them, and how to reach each one as Nix does.
import { fingerprintSha256, parsePublicKeyLine } from "../formats/known-hosts.js";
import {
  decodeHostKey,
  listEntries,
  type MachineEntry,
  type MachinesDialect,
  type MachinesFile,
  normalizeStoreUri,
} from "../formats/machines/index.js";

/** One machines entry as crossnix reports and reaches it. */
export interface FleetBuilder {
  /** crossnix name (the ssh alias), or the entry's host for entries crossnix did not write. */
  name: string;
  managed: boolean;
  enabled: boolean;
  entry: MachineEntry;
  uri: string;
  protocol: "ssh-ng" | "ssh" | "other";
  /** The authority ssh is given: user, host (the alias for crossnix entries) and port. */
  authority: { user: string | null; host: string; port: number | null };
  remoteProgram: string | null;
  hostKeyLine: string | null;
  hostKeyFingerprint: string | null;
  file: string;
  line: number;
}

function parseUri(uri: string, dialect?: MachinesDialect) {
  const normalized = normalizeStoreUri(uri, dialect);
  const match = /^([a-z0-9+.-]+):\/\/([^?]*)(?:\?(.*))?$/i.exec(normalized);
  const scheme = match?.[1]?.toLowerCase() ?? "";
  const authorityText = match?.[2] ?? "";
  const params = new URLSearchParams(match?.[3] ?? "");
  const at = authorityText.lastIndexOf("@");
  const user = at >= 0 ? authorityText.slice(0, at) : null;
  const hostPort = at >= 0 ? authorityText.slice(at + 1) : authorityText;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(hostPort);
  const host = bracket?.[1] ?? plain?.[1] ?? hostPort;
  const portText = bracket?.[2] ?? plain?.[2];
  return {
    protocol: scheme === "ssh-ng" ? "ssh-ng" : scheme === "ssh" ? "ssh" : "other",
    authority: { user, host, port: portText ? Number(portText) : null },
    remoteProgram: params.get("remote-program"),
    normalized,
  } as const;
}

/** `dialect`: the installed Nix's rules (docs/nix-machines-file.md#store-uri); newest when absent. */
export function fleetFromMachines(
  files: { path: string; model: MachinesFile }[],
  dialect?: MachinesDialect,
): FleetBuilder[] {
  const builders: FleetBuilder[] = [];
  for (const { path, model } of files) {
    for (const located of listEntries(model)) {
      const parsed = parseUri(located.entry.uri, dialect ?? model.dialect);
      let hostKeyLine: string | null = null;
      let fingerprint: string | null = null;
      if (located.entry.hostKey) {
        try {
          hostKeyLine = decodeHostKey(located.entry.hostKey).trim();
          fingerprint = fingerprintSha256(parsePublicKeyLine(hostKeyLine).key);
        } catch {
          hostKeyLine = null;
        }
      }
      builders.push({
        name: located.name ?? parsed.authority.host,
        managed: located.name !== null,
        enabled: !located.disabled,
        entry: located.entry,
        uri: parsed.normalized,
        protocol: parsed.protocol,
        authority: parsed.authority,
        remoteProgram: parsed.remoteProgram,
        hostKeyLine,
        hostKeyFingerprint: fingerprint,
        file: path,
        line: located.line,
      });
    }
  }
  return builders;
}

/** How to reach a builder exactly as Nix's daemon does: same host string, key and pinned host key. */
export function daemonSshTarget(builder: FleetBuilder) {
  return {
    host: builder.authority.host,
    user: builder.authority.user,
    port: builder.authority.port,
    identity: builder.entry.sshKey,
    pinnedKey: builder.hostKeyLine,
    // Nix writes the pinned key under the host it was given (docs/ssh.md#host-key-pinning) and passes no
    // HostKeyAlias; for crossnix entries the alias block's own HostKeyAlias names that host.
    hostKeyAlias: null,
  };
}

export function findBuilder(fleet: FleetBuilder[], name: string): FleetBuilder | undefined {
  return fleet.find((b) => b.managed && b.name === name) ?? fleet.find((b) => b.name === name);
}
