import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "testbed/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 120_000,
    // Integration tests share one machine's loopback addresses, ports and binfmt state.
    fileParallelism: false,
  },
});
