// Terminal colours, on only when wanted (--no-color, NO_COLOR, pipes).
import pc from "picocolors";

export type Style = ReturnType<typeof pc.createColors>;

/** Colours only when asked for: --no-color and NO_COLOR turn them off, as do pipes. */
export function makeStyle(color: boolean): Style {
  return pc.createColors(color);
}

export function colorWanted(flag: boolean, env: NodeJS.ProcessEnv, stream: { isTTY?: boolean }): boolean {
  if (!flag) return false;
  if (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") return false;
  if (env["FORCE_COLOR"] !== undefined && env["FORCE_COLOR"] !== "0") return true;
  return Boolean(stream.isTTY);
}
