// Measure test bed start-up: `npx tsx testbed/timing.ts [counts…]` (default 2 8).
import { startBuilders } from "./builder.js";
import { createSandbox } from "./sandbox.js";
import { getRun, stopAll } from "./run.js";

async function main() {
  const counts = process.argv.slice(2).map(Number);
  const t0 = performance.now();
  await getRun();
  console.log(`lock + run dir: ${(performance.now() - t0).toFixed(0)} ms`);
  for (const n of counts.length > 0 ? counts : [2, 8]) {
    const t = performance.now();
    const bs = await startBuilders(n);
    const started = performance.now() - t;
    const s = performance.now();
    await Promise.all(bs.map((b) => b.stop()));
    console.log(`${n} builders: start ${started.toFixed(0)} ms, stop ${(performance.now() - s).toFixed(0)} ms`);
  }
  const t = performance.now();
  const sb = await createSandbox();
  const started = performance.now() - t;
  const s = performance.now();
  await sb.stop();
  console.log(
    `sandbox + local nix-daemon: start ${started.toFixed(0)} ms, stop ${(performance.now() - s).toFixed(0)} ms`,
  );
  await stopAll();
}

main().catch(async (e) => {
  console.error(e);
  await stopAll().catch(() => {});
  process.exit(1);
});
