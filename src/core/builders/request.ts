// Validates `builder add`'s destination and flags into a BuilderRequest (exit 2 naming the field).
import { badInput } from "../../errors.js";
import { checkBuilderName } from "./name.js";
import { type BuilderProtocol, type Destination, defaultBuilderName, parseDestination } from "./destination.js";
import { isKnownSystem } from "../nix/systems.js";
import { checkRemoteProgram } from "./remote-program.js";

/** `builder add`'s input, validated: every bad value is an exit-2 error naming the field. */
export interface BuilderRequest {
  destination: Destination;
  name: string;
  protocol: BuilderProtocol;
  systems: string[] | null;
  maxJobs: number | null;
  speedFactor: number | null;
  features: string[] | null;
  mandatoryFeatures: string[];
  identity: string | null;
  remoteProgram: string | null;
  hostKey: string | null;
  copyKey: boolean;
  setupRemote: boolean;
  probe: boolean;
}

/** `builder add`'s flags as given (strings as typed; repeatable flags as lists), before validation. */
export interface AddFlags {
  name?: string;
  system?: string[];
  maxJobs?: string;
  speedFactor?: string;
  feature?: string[];
  mandatoryFeature?: string[];
  identity?: string;
  protocol?: string;
  remoteProgram?: string;
  hostKey?: string;
  copyKey?: boolean;
  setupRemote?: boolean;
  /** false with --no-probe. */
  probe?: boolean;
}

const FEATURE = /^[A-Za-z0-9_.+-]+$/;

function features(field: string, values: string[]): string[] {
  for (const feature of values) {
    if (!FEATURE.test(feature)) {
      throw badInput(
        field,
        feature,
        "a feature is one word: no spaces, commas or '#'",
        `repeat ${field} for each feature`,
      );
    }
  }
  return [...new Set(values)];
}

export function parseBuilderRequest(destinationText: string, options: AddFlags): BuilderRequest {
  const destination = parseDestination(destinationText);

  const name = checkBuilderName("--name", options.name === undefined ? defaultBuilderName(destination) : options.name);

  const protocolText = options.protocol === undefined ? (destination.protocol ?? "ssh-ng") : options.protocol;
  if (protocolText !== "ssh-ng" && protocolText !== "ssh")
    throw badInput("--protocol", protocolText, "must be ssh-ng or ssh");
  if (destination.protocol && options.protocol !== undefined && destination.protocol !== protocolText) {
    throw badInput("--protocol", protocolText, `the destination already says ${destination.protocol}://`);
  }

  const systems = options.system ?? [];
  for (const system of systems) {
    if (!isKnownSystem(system)) {
      throw badInput("--system", system, "not a Nix system double", "e.g. aarch64-linux, x86_64-linux, aarch64-darwin");
    }
  }

  let maxJobs: number | null = null;
  if (options.maxJobs !== undefined) {
    const text = options.maxJobs;
    if (!/^\d+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) {
      throw badInput("--max-jobs", text, "must be a whole number of at least 1");
    }
    maxJobs = Number(text);
  }

  let speedFactor: number | null = null;
  if (options.speedFactor !== undefined) {
    const text = options.speedFactor;
    const value = Number(text);
    // Nix parses a float since 2.20 and an unsigned int before (docs/nix-machines-file.md#speed-factor);
    // 0 silently means 1.
    if (!/^\d+(\.\d+)?$/.test(text) || !(value > 0))
      throw badInput("--speed-factor", text, "must be a positive number");
    speedFactor = value;
  }

  const remoteProgram =
    options.remoteProgram === undefined ? null : checkRemoteProgram("--remote-program", options.remoteProgram);

  const identity = options.identity === undefined ? null : options.identity;
  if (identity !== null && /\s/.test(identity)) {
    throw badInput(
      "--identity",
      identity,
      "the machines file separates fields by spaces, so the key path cannot contain one",
    );
  }

  const probe = options.probe !== false;
  const givenSystems = systems.length > 0 ? systems : null;
  if (!probe && !givenSystems) {
    throw badInput(
      "--system",
      "(none)",
      "with --no-probe, say which systems the builder builds for",
      "add --system aarch64-linux",
    );
  }

  return {
    destination,
    name,
    protocol: protocolText,
    systems: givenSystems,
    maxJobs,
    speedFactor,
    features: options.feature === undefined ? null : features("--feature", options.feature),
    mandatoryFeatures: features("--mandatory-feature", options.mandatoryFeature ?? []),
    identity,
    remoteProgram,
    hostKey: options.hostKey === undefined ? null : options.hostKey,
    copyKey: options.copyKey === true,
    setupRemote: options.setupRemote === true,
    probe,
  };
}
