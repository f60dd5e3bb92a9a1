// `crossnix history`: the plans crossnix applied on this machine, newest last.
import { listHistory } from "../app/history.js";
import type { Handler } from "../context.js";
import { renderTable } from "../ui/table.js";

const history: Handler = async (ctx) => {
  const entries = await listHistory(ctx.host);
  if (entries.length === 0) return { json: { plans: [] }, text: "No plan has been applied yet." };
  const rows = entries.map((e) => [e.id, e.outcome, e.title, e.files.map((f) => f.path).join(", ")]);
  const text = [renderTable(["ID", "OUTCOME", "PLAN", "FILES"], rows), "", "Undo one with: crossnix undo [ID]"].join(
    "\n",
  );
  return { json: { plans: entries }, text };
};

export default history;
