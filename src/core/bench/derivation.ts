// The benchmark derivation crossnix ships: fixed CPU work in the builder's own /bin/sh, unique per run.
const WORD = /^[A-Za-z0-9_.+-]+$/;

/**
 * One benchmark unit: this many iterations of a shell-arithmetic loop. About 1 s on a 2020s x86
 * core in dash; the figure that matters is the ratio between builders, not the absolute time.
 */
export const BENCH_UNIT_ITERATIONS = 750_000;

/** What a finished unit writes, so a build that stopped early is never counted as a fast one. */
export function benchOutput(iterations: number): string {
  return `crossnix-bench-${iterations}`;
}

/**
 * N derivations as one Nix list, each doing `iterations` loop steps with nothing but the shell's
 * builtins (no nixpkgs, no inputs to copy). The builder is `/bin/sh`, as in doctor's end-to-end
 * build: it exists on every Linux and macOS builder, and Nix's Linux sandbox mounts one when Nix
 * was built with a sandbox shell (docs/scheduling.md#benchmark-derivation). Each derivation carries
 * its own nonce, so none can come from a store or cache, and `allowSubstitutes = false` keeps Nix
 * from asking. Mandatory features of the entry must be required, or Nix never picks the machine.
 */
export function benchExpression(
  system: string,
  nonces: string[],
  iterations: number,
  requiredFeatures: string[] = [],
): string {
  for (const word of [system, ...nonces, ...requiredFeatures]) {
    if (!WORD.test(word)) throw new Error(`not a plain word: '${word}'`);
  }
  if (!Number.isInteger(iterations) || iterations < 0) throw new Error(`not a whole number: ${iterations}`);
  const features = requiredFeatures.length
    ? ` requiredSystemFeatures = [ ${requiredFeatures.map((f) => `"${f}"`).join(" ")} ];`
    : "";
  const script = `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo crossnix-bench-$i > $out`;
  const one = (nonce: string) =>
    `(derivation { name = "crossnix-bench-${nonce}"; system = "${system}"; builder = "/bin/sh"; args = [ "-c" "${script}" ]; allowSubstitutes = false; preferLocalBuild = false;${features} })`;
  return `[ ${nonces.map(one).join(" ")} ]`;
}
