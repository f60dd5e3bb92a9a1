// Rules for a new builder's name: it becomes an ssh alias, so it must not clash with one crossnix does not own.
import { listHostBlocks, parseSshConfig } from "../../core/formats/ssh-config.js";
import { badInput } from "../../errors.js";
import type { ConfigState } from "../../host/state.js";
import type { Host } from "../../host/system/host.js";
import { SYSTEM_PATHS } from "../../host/system/paths.js";

/** ssh config files whose Host blocks a new alias must not shadow or be shadowed by. */
async function sshConfigFiles(host: Host): Promise<string[]> {
  const files = [
    SYSTEM_PATHS.sshSystemConfig,
    host.platform === "darwin" ? "/var/root/.ssh/config" : "/root/.ssh/config",
  ];
  const dir = await host.list(SYSTEM_PATHS.sshConfigDir);
  for (const name of dir) {
    if (name.endsWith(".conf") && `${SYSTEM_PATHS.sshConfigDir}/${name}` !== SYSTEM_PATHS.sshAliasFile) {
      files.push(`${SYSTEM_PATHS.sshConfigDir}/${name}`);
    }
  }
  return files;
}

/** A name is an ssh alias: refuse one that an ssh config crossnix does not own already defines. */
export async function assertNameFree(host: Host, state: ConfigState, name: string): Promise<void> {
  for (const block of listHostBlocks(state.sshAliases.model)) {
    if (block.patterns.includes(name) && block.managedBy === null) {
      throw badInput(
        "--name",
        name,
        `clashes with the ssh alias at ${state.sshAliases.path}:${block.line}`,
        "choose another --name",
      );
    }
  }
  for (const file of await sshConfigFiles(host)) {
    const text = await host.readText(file).catch(() => null);
    if (!text) continue;
    for (const block of listHostBlocks(parseSshConfig(text, file))) {
      if (block.patterns.includes(name)) {
        throw badInput(
          "--name",
          name,
          `clashes with the ssh alias 'Host ${block.patterns.join(" ")}' at ${file}:${block.line}`,
          "choose another --name",
        );
      }
    }
  }
  const taken = state.fleet.find((b) => !b.managed && b.authority.host === name);
  if (taken)
    throw badInput(
      "--name",
      name,
      `an entry at ${taken.file}:${taken.line} already uses that host`,
      "choose another --name",
    );
}
