// Finding the builder a remove/enable/disable names: crossnix's own entry, or a refusal to touch someone else's.
import type { FleetBuilder } from "../../core/builders/fleet.js";
import { CrossnixError } from "../../errors.js";
import type { ConfigState } from "../../host/state.js";

/** crossnix's entry for `name`, or undefined; an entry crossnix did not write is a CONFLICT. */
export function managedBuilder(state: ConfigState, name: string): FleetBuilder | undefined {
  const builder = state.fleet.find((b) => b.managed && b.name === name);
  const foreign = state.fleet.find((b) => !b.managed && b.name === name);
  if (!builder && foreign) {
    throw new CrossnixError(
      "CONFLICT",
      `'${name}' at ${foreign.file}:${foreign.line} was not written by crossnix, so crossnix leaves it alone`,
      {
        hint: `edit ${foreign.file} yourself`,
      },
    );
  }
  return builder;
}

export function managedNames(state: ConfigState): string[] {
  return state.fleet.filter((b) => b.managed).map((b) => b.name);
}
