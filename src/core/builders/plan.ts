// Plans the file changes and commands for adding or changing a builder (key, alias, machines, nix.conf).
import {
  addEntry,
  decodeHostKey,
  ensureBuildersIncludes,
  formatEntry,
  listEntries,
  type MachineEntry,
  type MachinesFile,
  removeEntry,
  renderMachinesFile,
  setEntryEnabled,
} from "../formats/machines/index.js";
import { CrossnixError } from "../../errors.js";
import { appendSetting, getSetting, type NixConf, renderNixConf, setSetting } from "../formats/nix-conf.js";
import { type ConfigLayer, effectiveSetting } from "../nix/settings.js";
import { emptyPlan, type FileChange, type Plan, type PlanCommand } from "../plan/plan.js";
import {
  aliasBlockOptions,
  removeHostBlock,
  renderSshConfig,
  type SshConfig,
  upsertHostBlock,
} from "../formats/ssh-config.js";

/** Comment that marks the ssh_config blocks crossnix owns; blocks without it are never touched. */
export const SSH_MARKER = "managed by crossnix";

/** The parsed files a builder change starts from (see host/config-state.ts). */
export interface PlanInputs {
  machines: { path: string; text: string | null; model: MachinesFile };
  settings: { path: string; text: string | null; model: NixConf };
  sshAliases: { path: string; text: string | null; model: SshConfig };
  knownHosts: { path: string; text: string | null };
  effectiveBuilders: { value: string | null };
  effectiveUseSubstitutes: string | null;
  /** The configuration the daemon reads (system nix.conf and its includes), to check a change takes effect. */
  systemLayers?: ConfigLayer[];
  readOnlyReason: string | null;
  flavor: string;
  daemonReload: PlanCommand | null;
}

export interface NewBuilder {
  name: string;
  entry: MachineEntry;
  ssh: { hostName: string; port: number | null; user: string | null; identityFile: string };
  /** Real path of a dedicated key to create, when crossnix makes one. */
  createKeyAt: string | null;
}

function fileChange(path: string, before: string | null, after: string, reason: string): FileChange {
  return { path, before, after, mode: 0o644, reason };
}

/** The alias block: HostName, Port, User, IdentityFile and `HostKeyAlias <name>` (checked and escaped). */
export function aliasOptions(b: NewBuilder): [string, string][] {
  // The pinned key (machines column 8) is written by Nix under the alias name; HostKeyAlias makes
  // ssh look it up under that name whatever the port is (DESIGN.md "Where things live").
  const options = aliasBlockOptions(b.name, {
    hostName: b.ssh.hostName,
    ...(b.ssh.port ? { port: b.ssh.port } : {}),
    ...(b.ssh.user ? { user: b.ssh.user } : {}),
    identityFile: b.ssh.identityFile,
  });
  // Nix sets no timeout of its own: without this a hung builder hangs every build forever
  // (seen on the test bed with Nix 2.8; OpenSSH's ConnectTimeout also bounds the banner exchange).
  options.push(["ConnectTimeout", String(ALIAS_CONNECT_TIMEOUT_SECONDS)]);
  return options;
}

export const ALIAS_CONNECT_TIMEOUT_SECONDS = 10;

/** Makes builder `name`'s key at `keyPath` (real path) and its `.pub`; the plan's journal records both. */
export function dedicatedKeyCommand(name: string, keyPath: string): PlanCommand {
  return {
    argv: ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `crossnix-${name}`, "-f", keyPath],
    // The daemon cannot type a passphrase (docs/ssh.md#daemon-ssh), so the key has none; it is 0600 root.
    description: "create a dedicated key for the Nix daemon",
    withinRoot: true,
    creates: [keyPath, `${keyPath}.pub`],
  };
}

export function planAddBuilder(inputs: PlanInputs, builder: NewBuilder): Plan {
  const plan = emptyPlan(`Add builder '${builder.name}' (${builder.entry.systems.join(", ")})`);
  if (builder.createKeyAt) plan.commands.push(dedicatedKeyCommand(builder.name, builder.createKeyAt));
  const options = aliasOptions(builder);
  if (builder.entry.hostKey) {
    options.push(["GlobalKnownHostsFile", inputs.knownHosts.path]);
    const pinned = pinInKnownHosts(
      inputs.knownHosts.text ?? "",
      builder.name,
      decodeHostKey(builder.entry.hostKey).trim(),
    );
    plan.files.push(
      fileChange(inputs.knownHosts.path, inputs.knownHosts.text, pinned, `pinned host key of '${builder.name}'`),
    );
  }
  const aliasAfter = renderSshConfig(upsertHostBlock(inputs.sshAliases.model, builder.name, options, SSH_MARKER));
  plan.files.push(
    fileChange(inputs.sshAliases.path, inputs.sshAliases.text, aliasAfter, `ssh alias '${builder.name}'`),
  );

  if (inputs.readOnlyReason) {
    plan.notes.push(
      `${inputs.readOnlyReason}.\nAdd this to your configuration and rebuild:\n\n${nixSnippet(inputs.flavor, builder)}`,
    );
    return plan;
  }
  const machinesAfter = renderMachinesFile(addEntry(inputs.machines.model, builder.entry, builder.name));
  plan.files.push(
    fileChange(inputs.machines.path, inputs.machines.text, machinesAfter, `machines entry for '${builder.name}'`),
  );
  addSettingsChanges(plan, inputs);
  return plan;
}

/**
 * `builders` must reach the machines file and inputs should come from caches
 * (docs/nix-settings.md#builders, #builders-use-substitutes).
 */
function addSettingsChanges(plan: Plan, inputs: PlanInputs): void {
  let conf = inputs.settings.model;
  // The model carries the installed Nix's rules: a stray ` @file` is no include before 2.29.
  const wanted = ensureBuildersIncludes(
    inputs.effectiveBuilders.value,
    inputs.machines.path,
    inputs.machines.model.dialect,
  );
  const own = getSetting(conf, "builders")?.value ?? null;
  if (inputs.effectiveBuilders.value !== wanted || (own !== null && own !== wanted)) {
    conf = effectiveBuildersChange(inputs, conf, wanted);
  }
  if (inputs.effectiveUseSubstitutes !== "true") {
    conf = setSetting(
      conf,
      "builders-use-substitutes",
      "true",
      "crossnix: builders fetch inputs from their own caches",
    );
  }
  const after = renderNixConf(conf);
  if (after === (inputs.settings.text ?? "")) return;
  plan.files.push(fileChange(inputs.settings.path, inputs.settings.text, after, "remote build settings"));
  // The daemon reads nix.conf only at startup (docs/nix-settings.md#daemon-restart).
  if (inputs.daemonReload) plan.commands.push(inputs.daemonReload);
  else plan.notes.push("Restart the Nix daemon so it reads the new settings.");
}

/**
 * The settings file with `builders = wanted` where the daemon will really read it: the file's last
 * assignment when nothing later overrides it, else a new assignment after everything in the file
 * (an `include` further down that sets `builders` again would otherwise win, and the user's own
 * line stays as it was). Refused, nothing written, when even that is overridden elsewhere.
 */
function effectiveBuildersChange(inputs: PlanInputs, conf: NixConf, wanted: string): NixConf {
  const comment = "crossnix: Nix reads remote builders from the machines file";
  const layers = inputs.systemLayers;
  if (!layers?.some((l) => l.source === inputs.settings.path)) return setSetting(conf, "builders", wanted, comment);
  const effectiveWith = (candidate: NixConf) =>
    effectiveSetting(
      "builders",
      layers.map((l) => (l.source === inputs.settings.path ? { ...l, conf: candidate } : l)),
    );
  const edited = setSetting(conf, "builders", wanted, comment);
  if (effectiveWith(edited).value === wanted) return edited;
  const appended = appendSetting(conf, "builders", wanted, comment);
  const result = effectiveWith(appended);
  if (result.value === wanted) return appended;
  throw new CrossnixError(
    "CHECK_FAILED",
    `Nix would still not read ${inputs.machines.path}: builders is set again at ${result.source}:${result.line}, after ${inputs.settings.path}`,
    {
      hint: `add '@${inputs.machines.path}' to the builders line at ${result.source}:${result.line}`,
      nothingWritten: true,
    },
  );
}

export function planRemoveBuilder(
  inputs: PlanInputs,
  name: string,
  keyFilesToDelete: { path: string; text: string }[],
): Plan {
  const plan = emptyPlan(`Remove builder '${name}'`);
  if (listEntries(inputs.machines.model).some((e) => e.name === name)) {
    const machinesAfter = renderMachinesFile(removeEntry(inputs.machines.model, name));
    plan.files.push(fileChange(inputs.machines.path, inputs.machines.text, machinesAfter, "machines entry"));
  }
  // Removing writes only files that change: a builder never added must not leave an empty alias file.
  const aliasAfter = renderSshConfig(removeHostBlock(inputs.sshAliases.model, name, SSH_MARKER));
  if (aliasAfter !== (inputs.sshAliases.text ?? "")) {
    plan.files.push(fileChange(inputs.sshAliases.path, inputs.sshAliases.text, aliasAfter, "ssh alias"));
  }
  if (inputs.knownHosts.text !== null) {
    const after = pinInKnownHosts(inputs.knownHosts.text, name, null);
    plan.files.push(fileChange(inputs.knownHosts.path, inputs.knownHosts.text, after, "pinned host key"));
  }
  for (const key of keyFilesToDelete) {
    const secret = !key.path.endsWith(".pub");
    plan.files.push({
      path: key.path,
      before: key.text,
      after: null,
      reason: secret ? "private key crossnix created" : "its public key",
      secret,
    });
  }
  return plan;
}

export function planToggleBuilder(inputs: PlanInputs, name: string, enabled: boolean): Plan {
  const plan = emptyPlan(`${enabled ? "Enable" : "Disable"} builder '${name}'`);
  const after = renderMachinesFile(setEntryEnabled(inputs.machines.model, name, enabled));
  plan.files.push(
    fileChange(inputs.machines.path, inputs.machines.text, after, enabled ? "restore entry" : "comment entry out"),
  );
  return plan;
}

/**
 * The known_hosts text with `alias`'s line replaced by `alias <key line>` (or removed when null).
 * Recorded under the alias because the alias block says `HostKeyAlias <alias>`; every other line
 * stays as it was, its line ending (LF or CRLF) included. A replaced line keeps its own ending; an
 * added one takes the file's dominant ending.
 */
export function pinInKnownHosts(text: string, alias: string, keyLine: string | null): string {
  const lines = (text.match(/[^\n]*\n|[^\n]+$/g) ?? []).map((raw) => {
    const eol = raw.endsWith("\r\n") ? "\r\n" : raw.endsWith("\n") ? "\n" : "";
    return { body: raw.slice(0, raw.length - eol.length), eol };
  });
  const crlf = lines.filter((l) => l.eol === "\r\n").length;
  const dominant = crlf > lines.filter((l) => l.eol === "\n").length ? "\r\n" : "\n";
  const isAlias = (l: { body: string }) => l.body.split(/\s+/)[0] === alias;
  const at = lines.findIndex(isAlias);
  const kept = lines.filter((l) => !isAlias(l));
  if (keyLine !== null) {
    const index = at === -1 ? kept.length : at;
    const before = kept[index - 1];
    if (index === kept.length && before && before.eol === "") before.eol = dominant;
    kept.splice(index, 0, { body: `${alias} ${keyLine}`, eol: at === -1 ? dominant : lines[at]!.eol || dominant });
  }
  return kept.map((l) => l.body + l.eol).join("");
}

const nixString = (s: string) => JSON.stringify(s);
const nixList = (items: string[]) => `[ ${items.map(nixString).join(" ")} ]`;

/** For read-only (nix-darwin / Determinate module) setups: the same builder as Nix options. */
export function nixSnippet(flavor: string, builder: NewBuilder): string {
  const prefix = flavor === "determinate" ? "determinateNix" : "nix";
  const e = builder.entry;
  const fields = [
    `hostName = ${nixString(builder.name)};`,
    `protocol = ${nixString(e.uri.startsWith("ssh://") ? "ssh" : "ssh-ng")};`,
    `systems = ${nixList(e.systems)};`,
    `maxJobs = ${e.maxJobs ?? 1};`,
    `speedFactor = ${e.speedFactor ?? 1};`,
    `supportedFeatures = ${nixList(e.supportedFeatures)};`,
    `mandatoryFeatures = ${nixList(e.mandatoryFeatures)};`,
    ...(e.sshKey ? [`sshKey = ${nixString(e.sshKey)};`] : []),
    ...(e.hostKey ? [`publicHostKey = ${nixString(e.hostKey)};`] : []),
  ];
  const settings = prefix === "determinateNix" ? "determinateNix.customSettings" : "nix.settings";
  return [
    `${prefix}.distributedBuilds = true;`,
    `${prefix}.buildMachines = [ {`,
    ...fields.map((f) => `  ${f}`),
    `} ];`,
    `${settings}.builders-use-substitutes = true;`,
    `# machines line: ${formatEntry(e)}`,
  ].join("\n");
}
