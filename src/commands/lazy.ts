// The type of the CLI's lazy action wrapper: registration names a module, which is imported only
// when its command runs, so start-up never loads what a command does not use.
import type { Handler } from "../context.js";

export type LazyAction = (load: () => Promise<{ default: Handler }>) => (...args: unknown[]) => Promise<void>;
