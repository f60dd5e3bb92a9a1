// Turns a failed `nix` run into crossnix's error, decoded by the diagnosis modules.
import { diagnoseNixOutput } from "../../core/diagnosis/index.js";
import { CrossnixError } from "../../errors.js";
import type { ExecResult } from "../system/exec.js";

export function nixFailure(what: string, run: ExecResult): CrossnixError {
  const [first] = diagnoseNixOutput(run.stderr);
  const tail = run.stderr.trim().split("\n").slice(-3).join("\n");
  return new CrossnixError("NIX", first ? `${what}: ${first.summary}` : `${what} failed${tail ? `:\n${tail}` : ""}`, {
    ...(first ? { hint: first.fix } : {}),
    detail: { diagnoses: diagnoseNixOutput(run.stderr), stderr: run.stderr.slice(-4000) },
  });
}
