// What this machine's daemon can build itself: systems, features, max-jobs, trusted users.
import os from "node:os";
import type { LocalCapability } from "../../core/build/coverage.js";
import { effectiveSetting } from "../../core/nix/settings.js";
import type { HostInfo } from "./detect.js";
import type { Host } from "../system/host.js";
import { loadConfigLayers } from "./config-layers.js";

/**
 * What this machine's daemon can build itself, from the settings it reads and Nix's defaults
 * (docs/nix-settings.md#system-features, #extra-platforms, #max-jobs): system-features
 * {nixos-test, benchmark, big-parallel} plus kvm (Linux, usable /dev/kvm) or apple-virt (macOS); extra-platforms i686-linux on x86_64-linux and x86_64-darwin
 * on aarch64-darwin with Rosetta; max-jobs 1, `auto` = CPU count.
 */
export async function localCapability(
  host: Host,
  info: HostInfo,
): Promise<LocalCapability & { trustedUsers: string[] }> {
  const layers = await loadConfigLayers(host, { user: false });
  const defaultFeatures = ["nixos-test", "benchmark", "big-parallel"];
  if (host.platform === "linux" && (await host.exists("/dev/kvm"))) defaultFeatures.push("kvm");
  if (host.platform === "darwin") defaultFeatures.push("apple-virt");
  let defaultPlatforms = "";
  if (info.system === "x86_64-linux") defaultPlatforms = "i686-linux";
  if (info.system === "aarch64-darwin" && (await host.exists("/Library/Apple/usr/libexec/oah/libRosettaRuntime"))) {
    defaultPlatforms = "x86_64-darwin";
  }
  const setting = (name: string, fallback: string) =>
    effectiveSetting(name, layers, { [name]: fallback }).value ?? fallback;
  const words = (value: string) => value.split(/\s+/).filter(Boolean);
  const maxJobsText = setting("max-jobs", "1");
  const maxJobs = maxJobsText === "auto" ? os.cpus().length : Number.parseInt(maxJobsText, 10) || 0;
  return {
    systems: [setting("system", info.system), ...words(setting("extra-platforms", defaultPlatforms))],
    features: words(setting("system-features", defaultFeatures.join(" "))),
    maxJobs,
    trustedUsers: words(setting("trusted-users", "root")),
  };
}
