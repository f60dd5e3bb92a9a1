// Three tiers: unit (pure core), app and host tests run in parallel; the integration tests and the test
// bed's own tests run one file at a time, after them, because they share one machine's loopback
// addresses, ports, daemon socket and binfmt state.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: "fast",
          include: ["tests/unit/**/*.test.ts", "tests/app/**/*.test.ts", "tests/host/**/*.test.ts"],
          // Worker threads that keep their module cache between files: these files share no global
          // state, and starting a fresh process per file cost more than the tests themselves.
          pool: "threads",
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts", "testbed/**/*.test.ts"],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
