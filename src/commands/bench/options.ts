// `crossnix bench` options, read once into a typed record; bad values are exit 2 before anything runs.
import { checkBuilderName } from "../../core/builders/name.js";
import { badInput } from "../../errors.js";
import { isKnownSystem } from "../../core/nix/systems.js";
import { flagOption, listOption, type RawOptions, stringOption } from "../options.js";

export interface BenchOptions {
  names: string[];
  jobs: number | null;
  runs: number;
  iterations: number | undefined;
  systems: string[];
  calibrate: boolean;
  compare: boolean;
}

function wholeNumber(field: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw badInput(field, text, `must be a whole number from ${min} to ${max}`);
  }
  return value;
}

export function parseBenchOptions(args: string[], raw: RawOptions): BenchOptions {
  const names = args.map((name) => checkBuilderName("builder name", name));
  const calibrate = flagOption(raw, "calibrate");
  const compare = flagOption(raw, "compare");
  if (calibrate && compare) throw badInput("--compare", true, "cannot be combined with --calibrate");
  const systems = listOption(raw, "system");
  for (const system of systems) {
    if (!isKnownSystem(system)) throw badInput("--system", system, "not a Nix system double", "e.g. aarch64-linux");
  }
  return {
    names,
    systems,
    jobs: wholeNumber("--jobs", stringOption(raw, "jobs"), 1, 256) ?? null,
    runs: wholeNumber("--runs", stringOption(raw, "runs"), 1, 50) ?? 3,
    iterations: wholeNumber("--iterations", stringOption(raw, "iterations"), 1000, 1_000_000_000),
    calibrate,
    compare,
  };
}
