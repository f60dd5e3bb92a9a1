/**
 * Before Nix starts: can every derivation that must be built go somewhere? Mirrors Nix's own
 * matching (build-remote.cc, docs/build-hook.md#matching): a machine takes a derivation when it lists the
 * system, offers every required feature (supported ∪ mandatory), and every mandatory feature is
 * required; the local machine takes it when max-jobs > 0 and the system is its own or an
 * extra-platform.
 */
export interface DerivationNeed {
  drv: string;
  system: string;
  features: string[];
}

export type BuilderHealth = { state: "ok" } | { state: "down"; reason: string } | { state: "unknown" };

export interface CandidateBuilder {
  name: string;
  systems: string[];
  features: string[];
  mandatoryFeatures: string[];
  health: BuilderHealth;
}

export interface LocalCapability {
  systems: string[];
  features: string[];
  maxJobs: number;
}

export type CoverageReason = "none-configured" | "down" | "features-missing" | "local-builds-disabled";

export interface CoverageProblem {
  system: string;
  features: string[];
  drvs: string[];
  reason: CoverageReason;
  detail: string;
}

export interface Coverage {
  ok: boolean;
  problems: CoverageProblem[];
  /** For each system+features group, which builders could take it (for --verbose and JSON). */
  routes: { system: string; features: string[]; builders: string[]; local: boolean }[];
}

function takes(builder: CandidateBuilder, need: DerivationNeed): "yes" | "system" | "features" {
  if (!builder.systems.includes(need.system) && need.system !== "builtin") return "system";
  const offered = new Set([...builder.features, ...builder.mandatoryFeatures]);
  if (!need.features.every((f) => offered.has(f))) return "features";
  if (!builder.mandatoryFeatures.every((f) => need.features.includes(f))) return "features";
  return "yes";
}

export function checkCoverage(needs: DerivationNeed[], builders: CandidateBuilder[], local: LocalCapability): Coverage {
  const groups = new Map<string, DerivationNeed[]>();
  for (const need of needs) {
    const key = `${need.system}\0${[...need.features].sort().join(",")}`;
    groups.set(key, [...(groups.get(key) ?? []), need]);
  }
  const problems: CoverageProblem[] = [];
  const routes: Coverage["routes"] = [];
  for (const group of groups.values()) {
    const sample = group[0]!;
    const base = { system: sample.system, features: sample.features, drvs: group.map((n) => n.drv) };
    const localSystem = local.systems.includes(sample.system) || sample.system === "builtin";
    const localFeatures = sample.features.every((f) => local.features.includes(f));
    const canLocal = localSystem && localFeatures && local.maxJobs > 0;
    const matching = builders.filter((b) => takes(b, sample) === "yes");
    const healthy = matching.filter((b) => b.health.state !== "down");
    routes.push({
      system: sample.system,
      features: sample.features,
      builders: healthy.map((b) => b.name),
      local: canLocal,
    });
    if (canLocal || healthy.length > 0) continue;
    const featureText = sample.features.length ? ` with features {${sample.features.join(", ")}}` : "";
    if (matching.length > 0) {
      const reasons = matching.map((b) => `${b.name}: ${b.health.state === "down" ? b.health.reason : "down"}`);
      problems.push({
        ...base,
        reason: "down",
        detail: `every builder for ${sample.system}${featureText} is down (${reasons.join("; ")})`,
      });
      continue;
    }
    const sameSystem = builders.filter((b) => takes(b, sample) === "features");
    if (sameSystem.length > 0) {
      const offered = sameSystem.map(
        (b) =>
          `${b.name} offers {${[...b.features, ...b.mandatoryFeatures.map((f) => `${f} (mandatory)`)].join(", ")}}`,
      );
      problems.push({
        ...base,
        reason: "features-missing",
        detail: `no ${sample.system} builder has the features {${sample.features.join(", ")}}: ${offered.join("; ")}`,
      });
      continue;
    }
    if (localSystem && localFeatures && local.maxJobs === 0) {
      problems.push({
        ...base,
        reason: "local-builds-disabled",
        detail: `${sample.system} could build here, but local builds are disabled (max-jobs = 0) and no builder has it`,
      });
      continue;
    }
    problems.push({
      ...base,
      reason: "none-configured",
      detail: `no builder is configured for ${sample.system}${featureText}`,
    });
  }
  return { ok: problems.length === 0, problems, routes };
}
