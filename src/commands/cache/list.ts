// `crossnix cache list`: the listing use case as a table (or JSON).
import { listCaches } from "../../app/caches/list.js";
import type { Handler } from "../../context.js";
import { makeStyle } from "../../ui/style.js";
import { renderTable } from "../../ui/table.js";

const ROLE = { daemon: "every build", trusted: "on request", user: "your files" } as const;

const list: Handler = async (ctx) => {
  const result = await listCaches(ctx);
  const style = makeStyle(ctx.options.color);
  const rows = result.caches.map((c) => [
    c.url,
    c.role === "user" ? (c.honouredForUntrusted ? ROLE.user : style.yellow(`${ROLE.user} (ignored)`)) : ROLE[c.role],
    c.priority === null ? "?" : String(c.priority),
    c.keys.join(",") || style.yellow("none"),
    c.reachable === null
      ? style.dim("not checked")
      : c.reachable
        ? style.green(`ok ${c.latencyMs} ms`)
        : style.red(c.problem ?? "unreachable"),
    c.source,
  ]);
  const notes = [
    `A user the daemon does not trust may add only: ${result.untrustedMayUse.join(" ") || "nothing"}`,
    ...result.caches
      .filter((c) => c.role === "user" && !c.honouredForUntrusted)
      .map(
        (c) =>
          `${c.url} (${c.source}) is ignored for users the daemon does not trust: run crossnix cache add ${c.url} to add it where the daemon reads it`,
      ),
    ...result.userKeysIgnored.map(
      (k) => `${k.key} (${k.source}) is ignored by the daemon for untrusted users; the daemon's own keys decide`,
    ),
  ];
  const table = renderTable(["URL", "USED FOR", "PRIORITY", "KEYS", "REACHABLE", "WHERE"], rows);
  return { json: result, text: `${table}\n${notes.map((n) => style.dim(n)).join("\n")}` };
};

export default list;
