// Which Linux distribution this is (/etc/os-release), and whether it is NixOS.
import { type OsRelease, parseOsRelease } from "../../core/emulation/install.js";
import type { Host } from "../system/host.js";

export async function readOsRelease(host: Host): Promise<OsRelease | null> {
  const text = (await host.readText("/etc/os-release")) ?? (await host.readText("/usr/lib/os-release"));
  return text === null ? null : parseOsRelease(text);
}

/** NixOS marks itself with /etc/NIXOS as well as ID=nixos. */
export async function onNixos(host: Host, release: OsRelease | null): Promise<boolean> {
  return release?.id === "nixos" || (await host.exists("/etc/NIXOS"));
}
