// Builder names: one rule for `add --name` and for every command that looks a builder up by name.
import { badInput } from "../../errors.js";

/** A builder name doubles as its ssh alias and a key file name: characters ssh_config and paths accept, no '/'. */
export const BUILDER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The name, or an exit-2 error naming `field` (`--name`, `--builder`, `builder name`). */
export function checkBuilderName(field: string, name: string): string {
  if (!BUILDER_NAME.test(name)) {
    throw badInput(
      field,
      name,
      "use letters, digits, '.', '_' and '-' (up to 63), starting with a letter or digit: it becomes an ssh alias and a file name",
    );
  }
  return name;
}
