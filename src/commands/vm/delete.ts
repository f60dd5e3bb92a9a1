// `crossnix vm delete [name]`: exactly what vm create made, through one plan, then the VM.
import { deleteVm } from "../../app/vm/delete.js";
import { describeOutcome } from "../../app/plan-runner.js";
import type { Handler } from "../../context.js";
import { checkVmName } from "../../core/vm/lima.js";

const remove: Handler = async (ctx, { args }) => {
  const result = await deleteVm(ctx, checkVmName(args[0] ?? "nixbuilder"));
  const lines = [
    result.outcome ? describeOutcome(result.outcome) : "",
    result.vmDeleted ? `Deleted the Lima VM '${result.name}'.` : "",
  ];
  return { json: result, text: lines.filter(Boolean).join("\n") };
};

export default remove;
