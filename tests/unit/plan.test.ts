// Rendering plans.
import { describe, expect, it } from "vitest";
import { describePlan, emptyPlan, isNoop, unifiedDiff } from "../../src/core/plan/plan.js";

describe("plan rendering", () => {
  it("renders a modification as a unified diff with a/ b/ paths", () => {
    const diff = unifiedDiff({ path: "/etc/nix/machines", before: "a\nb\n", after: "a\nc\n", reason: "x" });
    expect(diff).toContain("--- a/etc/nix/machines");
    expect(diff).toContain("+++ b/etc/nix/machines");
    expect(diff).toContain("-b\n+c");
    expect(diff).not.toContain("Index:");
  });

  it("renders creation from /dev/null and deletion to /dev/null", () => {
    expect(unifiedDiff({ path: "/x", before: null, after: "new\n", reason: "" })).toMatch(/^--- \/dev\/null/m);
    expect(unifiedDiff({ path: "/x", before: "old\n", after: null, reason: "" })).toMatch(/^\+\+\+ \/dev\/null/m);
  });

  it("drops unchanged files and reports a no-op", () => {
    const plan = emptyPlan("t");
    plan.files.push({ path: "/same", before: "x", after: "x", reason: "" });
    expect(isNoop(plan)).toBe(true);
    expect(describePlan(plan).files).toEqual([]);
    plan.files.push({ path: "/new", before: null, after: "y", reason: "r" });
    expect(isNoop(plan)).toBe(false);
    expect(describePlan(plan).files.map((f) => [f.path, f.action])).toEqual([["/new", "create"]]);
  });

  it("quotes commands for display", () => {
    const plan = emptyPlan("t");
    plan.commands.push({ argv: ["launchctl", "kickstart", "-k", "system/x y"], description: "d" });
    expect(describePlan(plan).commands[0]?.command).toBe("launchctl kickstart -k 'system/x y'");
  });
});
