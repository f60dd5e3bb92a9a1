// Lints a GitHub Actions workflow for Nix builds that cannot work (runners, systems, actions, permissions).
// One file because every rule runs inside one FileLinter walk that shares the parsed document and positions.
import { isMap, isScalar, isSeq, LineCounter, type Node, type Pair, parseDocument, type YAMLMap } from "yaml";
import {
  type ActionFacts,
  actionFacts,
  ACTIONS,
  NATIVE_RUNNERS,
  RETIRED_RUNNERS,
  runnerSystem,
  type Severity,
  systemCpu,
  systemOs,
  usesRef,
} from "./facts.js";
import { extraPlatformsIn, type NixInvocation, nixInvocations, setsUpBinfmt } from "./shell.js";

export type RuleId =
  | "yaml-syntax"
  | "action-broken"
  | "action-outdated"
  | "installer-upstream-removed"
  | "runner-retired"
  | "foreign-system"
  | "linux-on-macos-runner"
  | "darwin-on-linux-runner"
  | "emulated-native-available"
  | "flakehub-id-token"
  | "impure-not-cross";

/** Every rule, its severity and what it catches (for `--help`, the README and tests). */
export const RULES: Readonly<Record<RuleId, { severity: Severity; summary: string }>> = {
  "yaml-syntax": { severity: "error", summary: "the file is not valid YAML" },
  "action-broken": {
    severity: "error",
    summary: "an action major that no longer works (magic-nix-cache-action < v10, checkout < v4)",
  },
  "action-outdated": { severity: "warning", summary: "an action major below the current one" },
  "installer-upstream-removed": {
    severity: "error",
    summary: "nix-installer-action with `determinate: false` (upstream Nix was offered only until 2026-01-01)",
  },
  "runner-retired": {
    severity: "error",
    summary: "a runner image GitHub has retired (macos-13, macos-12, ubuntu-20.04, …)",
  },
  "foreign-system": {
    severity: "error",
    summary: "a build for another Linux CPU on a runner without binfmt + extra-platforms in that job",
  },
  "linux-on-macos-runner": {
    severity: "error",
    summary: "a Linux build on a macOS runner (no binfmt_misc, no nested virtualization)",
  },
  "darwin-on-linux-runner": { severity: "error", summary: "a macOS build on a Linux runner" },
  "emulated-native-available": {
    severity: "warning",
    summary: "aarch64-linux under QEMU where ubuntu-24.04-arm runs it natively",
  },
  "flakehub-id-token": {
    severity: "error",
    summary: "FlakeHub (cache, push, login) without `permissions: id-token: write`",
  },
  "impure-not-cross": { severity: "warning", summary: "`--impure` used as if it enabled building for another system" },
};

export interface Finding {
  file: string;
  line: number;
  column: number;
  severity: Severity;
  rule: RuleId;
  message: string;
  fix: string;
}

interface Position {
  line: number;
  column: number;
}

const SUPPRESS = /crossnix-lint:\s*ignore\s+([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)/;

function pairOf(map: unknown, key: string): Pair | undefined {
  if (!isMap(map)) return undefined;
  return (map as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === key) as Pair | undefined;
}

function child(map: unknown, key: string): Node | null {
  return (pairOf(map, key)?.value as Node | null | undefined) ?? null;
}

function stringOf(node: unknown): string | null {
  if (!isScalar(node)) return null;
  const v = node.value;
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : null;
}

/** Every string scalar below a node (values only). */
function scalarsBelow(node: unknown, out: Node[] = []): Node[] {
  if (isScalar(node)) out.push(node);
  else if (isMap(node)) for (const p of node.items) scalarsBelow(p.value, out);
  else if (isSeq(node)) for (const item of node.items) scalarsBelow(item, out);
  return out;
}

interface RunnerCandidate {
  label: string;
  node: Node;
}

class FileLinter {
  readonly findings: Finding[] = [];
  private readonly lines: string[];
  private readonly counter = new LineCounter();

  constructor(
    private readonly file: string,
    private readonly text: string,
  ) {
    this.lines = text.split(/\r?\n/);
  }

  private at(node: Node): Position {
    const offset = node.range?.[0] ?? 0;
    const { line, col } = this.counter.linePos(offset);
    return { line, column: col };
  }

  private add(position: Position, rule: RuleId, message: string, fix: string, severity = RULES[rule].severity): void {
    this.findings.push({ file: this.file, line: position.line, column: position.column, severity, rule, message, fix });
  }

  /**
   * Where in a `run:` scalar a command's text sits. Literal block scalars (`|`) keep one source
   * line per script line, so the exact line is known; other styles fall back to the scalar's line.
   */
  private locateInScript(node: Node, scriptLines: number[], needle: string): Position {
    const start = this.at(node);
    if (isScalar(node) && node.type === "BLOCK_LITERAL") {
      for (const i of scriptLines) {
        const line = start.line + 1 + i;
        const col = this.lines[line - 1]?.indexOf(needle) ?? -1;
        if (col >= 0) return { line, column: col + 1 };
      }
      const first = start.line + 1 + (scriptLines[0] ?? 0);
      const text = this.lines[first - 1] ?? "";
      return { line: first, column: text.length - text.trimStart().length + 1 };
    }
    // Quoted or folded: find the text inside the scalar's source.
    const [from, to] = [node.range?.[0] ?? 0, node.range?.[1] ?? 0];
    const hit = this.text.indexOf(needle, from);
    if (hit === -1 || hit >= to) return start;
    const { line, col } = this.counter.linePos(hit);
    return { line, column: col };
  }

  lint(): Finding[] {
    const doc = parseDocument(this.text, { lineCounter: this.counter, prettyErrors: true, uniqueKeys: false });
    if (doc.errors.length > 0) {
      const error = doc.errors[0]!;
      const pos = error.linePos?.[0] ?? { line: 1, col: 1 };
      const message = error.message.split("\n")[0]!.replace(/\s+at line \d+, column \d+:?$/, "");
      this.add({ line: pos.line, column: pos.col }, "yaml-syntax", message, "fix the YAML syntax");
      return this.suppressed();
    }
    const root = doc.contents;
    const jobs = child(root, "jobs");
    if (!isMap(root) || !isMap(jobs)) return [];
    const workflowPermissions = pairOf(root, "permissions");
    const workflowEnv = scalarsBelow(child(root, "env")).map(stringOf).join("\n");
    for (const pair of jobs.items) {
      if (!isMap(pair.value)) continue;
      this.lintJob(pair.value as YAMLMap, workflowPermissions, workflowEnv);
    }
    return this.suppressed();
  }

  /** The GitHub-hosted labels a job can run on: runs-on itself, or the matrix values it names. */
  private runnerCandidates(job: YAMLMap): RunnerCandidate[] {
    const runsOn = child(job, "runs-on");
    const matrix = child(child(job, "strategy"), "matrix");
    const fromMatrix = (key: string): RunnerCandidate[] => {
      const found: RunnerCandidate[] = [];
      for (const node of scalarsBelow(child(matrix, key))) {
        const label = stringOf(node);
        if (label) found.push({ label, node });
      }
      const include = child(matrix, "include");
      if (isSeq(include)) {
        for (const entry of include.items) {
          const node = child(entry, key);
          const label = stringOf(node);
          if (label && node) found.push({ label, node });
        }
      }
      return found;
    };
    const fromLabel = (node: Node): RunnerCandidate[] => {
      const label = stringOf(node);
      if (label === null) return [];
      const expr = /^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$/.exec(label.trim());
      if (expr) return fromMatrix(expr[1]!);
      return label.includes("${{") ? [] : [{ label, node }];
    };
    if (isScalar(runsOn)) return fromLabel(runsOn);
    const labels = isSeq(runsOn)
      ? runsOn.items
      : isSeq(child(runsOn, "labels"))
        ? (child(runsOn, "labels") as { items: Node[] }).items
        : [];
    if (labels.some((n) => stringOf(n) === "self-hosted")) return [];
    return (labels as Node[]).flatMap(fromLabel);
  }

  private lintJob(job: YAMLMap, workflowPermissions: Pair | undefined, workflowEnv: string): void {
    const candidates = this.runnerCandidates(job);
    const runsOnNode = child(job, "runs-on");

    // Retired runner images: the labels runs-on can take, and any matrix value naming one.
    const seen = new Set<number>();
    const matrix = child(child(job, "strategy"), "matrix");
    const retiredNodes = [...candidates.map((c) => c.node), ...scalarsBelow(matrix)];
    for (const node of retiredNodes) {
      const label = stringOf(node);
      const offset = node.range?.[0] ?? -1;
      if (!label || seen.has(offset)) continue;
      seen.add(offset);
      const retired = RETIRED_RUNNERS[label.trim().toLowerCase()];
      if (!retired) continue;
      this.add(
        this.at(node),
        "runner-retired",
        `runner '${label}' was retired by GitHub on ${retired.retired}; jobs on it wait for a runner that never comes`,
        `use '${retired.replacement}'`,
      );
    }

    const runnerSystems = new Map<string, string>(); // system -> a label that gives it
    for (const c of candidates) {
      const system = runnerSystem(c.label);
      if (system && !runnerSystems.has(system)) runnerSystems.set(system, c.label);
    }

    const steps = child(job, "steps");
    const stepMaps = isSeq(steps) ? steps.items.filter((s): s is YAMLMap => isMap(s)) : [];

    // What the job does to make foreign systems buildable: binfmt interpreters and extra-platforms.
    let binfmt = false;
    const extraPlatforms = new Set<string>(extraPlatformsIn(workflowEnv));
    for (const s of scalarsBelow(child(job, "env")))
      for (const p of extraPlatformsIn(stringOf(s) ?? "")) extraPlatforms.add(p);
    for (const step of stepMaps) {
      const uses = stringOf(child(step, "uses")) ?? "";
      if (/^docker\/setup-qemu-action@/i.test(uses)) binfmt = true;
      const texts = [
        stringOf(child(step, "run")) ?? "",
        ...scalarsBelow(child(step, "with")).map((n) => stringOf(n) ?? ""),
      ];
      texts.push(...scalarsBelow(child(step, "env")).map((n) => stringOf(n) ?? ""));
      for (const t of texts) {
        if (setsUpBinfmt(t)) binfmt = true;
        for (const p of extraPlatformsIn(t)) extraPlatforms.add(p);
      }
    }

    // aarch64-linux really built under QEMU: interpreters registered and Nix told it may build it.
    const buildsAarch64Emulated = binfmt && extraPlatforms.has("aarch64-linux");
    for (const step of stepMaps) {
      this.lintUses(step, job, workflowPermissions);
      const runNode = child(step, "run");
      const script = stringOf(runNode);
      if (!runNode || script === null) continue;
      // A step guarded by `if:` may run only on some matrix entries; its systems cannot be paired with a runner.
      const conditional = pairOf(step, "if") !== undefined;
      for (const invocation of nixInvocations(script)) {
        this.lintInvocation(invocation, runNode, conditional ? new Map() : runnerSystems, binfmt, extraPlatforms);
      }
    }

    if (buildsAarch64Emulated && runnerSystems.has("x86_64-linux") && runsOnNode) {
      const label = runnerSystems.get("x86_64-linux")!;
      this.add(
        this.at(runsOnNode),
        "emulated-native-available",
        `aarch64-linux is built under QEMU emulation on '${label}'; GitHub's native arm64 runner builds it many times faster ` +
          "(ubuntu-24.04-arm, generally available for public repositories since 2025-08-07)",
        "build aarch64-linux in a job with 'runs-on: ubuntu-24.04-arm' and drop the QEMU setup " +
          "(if your plan has no arm64 runners, keep it and add '# crossnix-lint: ignore emulated-native-available')",
      );
    }
  }

  private lintInvocation(
    invocation: NixInvocation,
    runNode: Node,
    runnerSystems: Map<string, string>,
    binfmt: boolean,
    extraPlatforms: Set<string>,
  ): void {
    let foreignTarget = false;
    const reported = new Set<string>();
    for (const target of invocation.targets) {
      for (const [runner, label] of runnerSystems) {
        if (target.system === runner || compatible(runner, target.system)) continue;
        foreignTarget = true;
        const key = `${target.system}@${runner}`;
        if (reported.has(key)) continue;
        reported.add(key);
        const where = this.locateInScript(runNode, invocation.command.lines, target.needle);
        const native = NATIVE_RUNNERS[target.system];
        const nativeFix = native
          ? `build ${target.system} in a job with 'runs-on: ${native}'`
          : `build ${target.system} on a runner of that system`;
        const tOs = systemOs(target.system);
        const rOs = systemOs(runner);
        if (tOs === "linux" && rOs === "darwin") {
          // docs/github-actions.md#macos-cannot-build-linux: macOS has no binfmt_misc and QEMU user mode
          // only exists on Linux/BSD; #runners: hosted arm64 macOS runners have no nested
          // virtualization, so no Linux VM either.
          this.add(
            where,
            "linux-on-macos-runner",
            `builds ${target.system} on '${label}' (${runner}): macOS cannot run Linux builds (no binfmt_misc, no QEMU user ` +
              'emulation, and hosted macOS runners cannot start a Linux VM); Nix stops with "required system or feature not available"',
            nativeFix,
          );
        } else if (tOs === "darwin" && rOs !== "darwin") {
          this.add(
            where,
            "darwin-on-linux-runner",
            `builds ${target.system} on '${label}' (${runner}): only macOS can build darwin derivations`,
            nativeFix,
          );
        } else if (tOs === "linux" && rOs === "linux") {
          const hasPlatform = extraPlatforms.has(target.system);
          if (binfmt && hasPlatform) continue; // emulated; emulated-native-available judges aarch64-linux
          const why =
            !binfmt && !hasPlatform
              ? 'this job sets up neither binfmt (QEMU) nor extra-platforms; Nix stops with "required system or feature not available"'
              : !binfmt
                ? "extra-platforms lists it, but no binfmt (QEMU) interpreter is registered, so its builders cannot run"
                : `binfmt is set up, but extra-platforms does not list ${target.system}; Nix stops with "required system or feature not available"`;
          this.add(
            where,
            "foreign-system",
            `builds ${target.system} on '${label}' (${runner}): ${why}`,
            `${nativeFix}; or register QEMU (qemu-user-static) and add 'extra-platforms = ${target.system}' to the installer's nix.conf`,
          );
        } else {
          this.add(
            where,
            "foreign-system",
            `builds ${target.system} on '${label}' (${runner}), which cannot run it`,
            nativeFix,
          );
        }
      }
    }
    if (invocation.impure && (invocation.systemFlag !== null || foreignTarget)) {
      // docs/github-actions.md#macos-cannot-build-linux: `--impure` only lifts evaluation purity
      // (environment, <nixpkgs>, unlocked paths); it has nothing to do with which systems can be built.
      this.add(
        this.locateInScript(runNode, invocation.command.lines, "--impure"),
        "impure-not-cross",
        "'--impure' does not make another system buildable; it only allows impure evaluation (environment variables, <nixpkgs>, unlocked paths)",
        "drop '--impure' unless the expression needs it; build each system on its native runner",
      );
    }
  }

  private lintUses(step: YAMLMap, job: YAMLMap, workflowPermissions: Pair | undefined): void {
    const usesNode = child(step, "uses");
    const uses = stringOf(usesNode);
    if (!usesNode || !uses || uses.startsWith("docker://") || uses.startsWith("./")) return;
    const at = uses.lastIndexOf("@");
    const path = at === -1 ? uses : uses.slice(0, at);
    const ref = at === -1 ? "" : uses.slice(at + 1);
    const repo = path.split("/").slice(0, 2).join("/");
    const facts = actionFacts(repo);
    const withNode = child(step, "with");

    if (facts) this.checkMajor(facts, ref, usesNode, uses);

    const truthy = (key: string) => {
      const v = stringOf(child(withNode, key));
      return v !== null && v.trim().toLowerCase() === "true";
    };
    if (facts === ACTIONS.nixInstaller) {
      const determinate = stringOf(child(withNode, "determinate"));
      if (determinate !== null && determinate.trim().toLowerCase() === "false") {
        // docs/github-actions.md#nix-installer-action: nix-installer-action offered upstream Nix
        // (`determinate: false`) only until 2026-01-01.
        this.add(
          this.at(child(withNode, "determinate")!),
          "installer-upstream-removed",
          "nix-installer-action stopped offering upstream Nix ('determinate: false') on 2026-01-01",
          `for upstream Nix use '${usesRef(ACTIONS.installNix!)}'; otherwise drop 'determinate: false'`,
        );
      }
    }

    const lower = repo.toLowerCase();
    const usesFlakehub =
      lower === "determinatesystems/flakehub-cache-action" ||
      lower === "determinatesystems/flakehub-push" ||
      ((facts === ACTIONS.nixInstaller || facts === ACTIONS.determinateNix) && truthy("flakehub")) ||
      (facts === ACTIONS.magicNixCache && truthy("use-flakehub"));
    if (usesFlakehub) this.checkIdToken(job, workflowPermissions, usesNode, repo);
  }

  private checkMajor(facts: ActionFacts, ref: string, usesNode: Node, uses: string): void {
    let version = /^v?(\d+)(?:\.|$)/.exec(ref)?.[1];
    if (version === undefined && /^[0-9a-f]{40}$/i.test(ref)) {
      // A SHA pin: Dependabot and pinning tools keep the version in a trailing comment.
      const line = this.lines[this.at(usesNode).line - 1] ?? "";
      version = /#\s*v?(\d+)(?:[.\s]|$)/.exec(line)?.[1];
    }
    if (version === undefined) return; // branches such as @main follow the newest release
    const major = Number(version);
    const fix = `uses: ${usesRef(facts)}`;
    if (facts.brokenBelow !== undefined && major < facts.brokenBelow) {
      const alternative =
        facts === ACTIONS.magicNixCache ? ` (or '${usesRef(ACTIONS.flakehubCache!)}' with FlakeHub)` : "";
      this.add(this.at(usesNode), "action-broken", `${uses}: ${facts.brokenWhy?.(major)}`, `${fix}${alternative}`);
    } else if (major < facts.current) {
      this.add(this.at(usesNode), "action-outdated", `${uses}: ${facts.outdatedWhy(major)}`, fix);
    }
  }

  /**
   * FlakeHub logs in with GitHub's OIDC token, which needs `id-token: write`
   * (docs/github-actions.md#flakehub-cache-action). Job-level `permissions` replace the workflow's
   * entirely; without any, the token never has id-token.
   */
  private checkIdToken(job: YAMLMap, workflowPermissions: Pair | undefined, usesNode: Node, repo: string): void {
    const jobPermissions = pairOf(job, "permissions");
    const effective = jobPermissions ?? workflowPermissions;
    const grants = (pair: Pair | undefined) => {
      if (!pair) return false;
      const v = pair.value;
      if (isScalar(v)) return v.value === "write-all";
      return stringOf(child(v, "id-token")) === "write";
    };
    if (grants(effective)) return;
    const overridden = jobPermissions !== undefined && grants(workflowPermissions);
    this.add(
      this.at(usesNode),
      "flakehub-id-token",
      `${repo} authenticates to FlakeHub with GitHub's OIDC token, but this job's token has no 'id-token: write'` +
        (overridden ? " (the job's own 'permissions' replace the workflow's, which had it)" : ""),
      `add 'id-token: write' (and 'contents: read') to ${jobPermissions ? "the job's" : "the workflow's or the job's"} 'permissions'`,
    );
  }

  /** Drops findings silenced by `# crossnix-lint: ignore <rule>[,<rule>]` comments. */
  private suppressed(): Finding[] {
    const fileWide = new Set<string>();
    const byLine = new Map<number, Set<string>>();
    let header = true;
    for (let i = 0; i < this.lines.length; i++) {
      const text = this.lines[i]!.trim();
      const isComment = text.startsWith("#");
      const m = SUPPRESS.exec(text.includes("#") ? text.slice(text.indexOf("#")) : "");
      if (m) {
        const rules = m[1]!.split(",").map((r) => r.trim());
        if (header && isComment) {
          for (const r of rules) fileWide.add(r);
        } else {
          // The comment's own line, and the next line that is not blank or a comment.
          const targets = [i + 1];
          if (isComment) {
            let j = i + 1;
            while (j < this.lines.length && (this.lines[j]!.trim() === "" || this.lines[j]!.trim().startsWith("#")))
              j++;
            targets.push(j + 1);
          }
          for (const t of targets) {
            const set = byLine.get(t) ?? new Set<string>();
            for (const r of rules) set.add(r);
            byLine.set(t, set);
          }
        }
      }
      if (text !== "" && !isComment) header = false;
    }
    return this.findings
      .filter((f) => !fileWide.has(f.rule) && !byLine.get(f.line)?.has(f.rule))
      .sort((a, b) => a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
  }
}

/** Systems a runner builds without emulation besides its own (Nix's default extra-platforms). */
function compatible(runner: string, target: string): boolean {
  if (systemOs(runner) !== systemOs(target)) return false;
  const pair = `${systemCpu(runner)}>${systemCpu(target)}`;
  // x86_64 CPUs run i686 code; Rosetta 2 runs x86_64-darwin on arm64 macOS
  // (docs/github-actions.md#macos-cannot-build-linux).
  return pair === "x86_64>i686" || (pair === "aarch64>x86_64" && systemOs(runner) === "darwin");
}

/** Lints one workflow file's text; `file` is only used to label the findings. */
export function lintWorkflow(file: string, text: string): Finding[] {
  return new FileLinter(file, text).lint();
}

export function countBySeverity(findings: Finding[]): { errors: number; warnings: number } {
  return {
    errors: findings.filter((f) => f.severity === "error").length,
    warnings: findings.filter((f) => f.severity === "warning").length,
  };
}
