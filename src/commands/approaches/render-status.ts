// The human form of `crossnix status`: one screen, an approach per block, then who builds each Linux system.
import type { StatusReport } from "../../core/approaches/detect.js";

const MARK = { works: "✔", configured: "•", off: "○", broken: "✘" } as const;

export function renderStatus(r: StatusReport): string {
  const nix = r.nix.determinate
    ? `Determinate Nix ${r.nix.determinate} (Nix ${r.nix.version})`
    : r.nix.version
      ? `Nix ${r.nix.version} (${r.nix.flavor})`
      : "Nix not found";
  const lines = [`This machine: ${r.system}, ${nix}`];
  if (r.native.determinate) {
    const n = r.native;
    const eb =
      n.externalBuilders === null
        ? "not asked"
        : n.externalBuilders.length
          ? n.externalBuilders.map((b) => b.program).join(", ")
          : "[] (empty)";
    lines.push(
      `Native builder: config.json builder.state=${n.config.state ?? "unset"}; external-builders ${eb}; granted ${n.granted ?? "unknown"}`,
    );
  }
  lines.push("");
  if (r.approaches.length === 0) lines.push("No way to build Linux derivations was found. Try: crossnix init");
  for (const a of r.approaches) {
    const systems = a.systems.length ? ` [${a.systems.join(", ")}]` : "";
    lines.push(
      `${MARK[a.state]} ${a.label}: ${a.title} — ${a.state}${systems} (${a.managedBy === "hand-written" ? "hand-written" : `managed by ${a.managedBy}`})`,
    );
    const f = a.footprint;
    if (f.launchdLabel)
      lines.push(
        `    launchd ${f.launchdLabel.label}: ${f.launchdLabel.present ? "installed" : "missing"}${f.launchdLabel.loaded === null ? "" : f.launchdLabel.loaded ? ", loaded" : ", not loaded"}`,
      );
    if (f.sshAlias)
      lines.push(
        `    ssh alias ${f.sshAlias.alias} (${f.sshAlias.file}${f.sshAlias.port ? `, port ${f.sshAlias.port}` : ""}): ${f.sshAlias.present ? "present" : "missing"}`,
      );
    if (f.key) lines.push(`    key ${f.key.path}: ${f.key.present ? "present" : "missing"}`);
    if (f.machinesLine !== undefined)
      lines.push(`    machines line: ${f.machinesLine ? `${f.machinesLine.file}:${f.machinesLine.line}` : "none"}`);
    if (f.workdir) lines.push(`    workdir ${f.workdir.path}: ${f.workdir.present ? "present" : "missing"}`);
    if (f.user) lines.push(`    user ${f.user.name} (${f.user.uid}): ${f.user.present ? "present" : "missing"}`);
    for (const p of a.problems) lines.push(`    ! ${p}`);
  }
  lines.push("", "Caches:", ...(r.caches.length ? r.caches.map((c) => `  ${c.url}`) : ["  none configured"]));
  lines.push("", "Who builds each Linux system now:");
  for (const [system, who] of Object.entries(r.bySystem))
    lines.push(`  ${system}: ${who.length ? who.join(", ") : "nobody"}`);
  if (!r.probed) lines.push("", "Read from files only; --probe also asks launchd, determinate-nixd and each builder.");
  return lines.join("\n");
}
