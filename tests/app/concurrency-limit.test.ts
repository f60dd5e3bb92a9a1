// concurrencyLimit: cache check's bound on narinfo queries in flight (verification holds no place).
import { describe, expect, it } from "vitest";
import { concurrencyLimit } from "../../src/app/caches/probe.js";

/** A promise settled from outside, so the test decides when each task ends (no timers). */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe("concurrencyLimit", () => {
  it("runs at most `limit` tasks at once, starting the waiting ones in order", async () => {
    const limit = concurrencyLimit(2);
    const gates = Array.from({ length: 5 }, () => deferred<number>());
    const started: number[] = [];
    const results = gates.map((g, i) =>
      limit(() => {
        started.push(i);
        return g.promise;
      }),
    );
    await settle();
    expect(started).toEqual([0, 1]);
    gates[1]!.resolve(1);
    await settle();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve(0);
    gates[2]!.resolve(2);
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    gates[3]!.resolve(3);
    gates[4]!.resolve(4);
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4]);
  });

  it("a failed task gives its place to the next and keeps its own error", async () => {
    const limit = concurrencyLimit(1);
    const first = deferred<string>();
    const started: string[] = [];
    const a = limit(() => {
      started.push("a");
      return first.promise;
    });
    const b = limit(async () => {
      started.push("b");
      return "b";
    });
    await settle();
    expect(started).toEqual(["a"]);
    first.reject(new Error("cache gone"));
    await expect(a).rejects.toThrow("cache gone");
    expect(await b).toBe("b");
    expect(started).toEqual(["a", "b"]);
  });
});
