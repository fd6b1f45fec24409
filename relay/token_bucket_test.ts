import { assert, assertEquals } from "@std/assert";
import { BucketMap, TokenBucket } from "./token_bucket.ts";

Deno.test("TokenBucket allows the burst, then refills at the rate", () => {
  const b = new TokenBucket({ perSecond: 10, burst: 3 }, 0);
  assertEquals([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false]);
  assertEquals(b.take(50), false); // half a token
  assertEquals(b.take(100), true);
  assert(b.idle(10_000));
});

Deno.test("TokenBucket with rate 0 is unlimited", () => {
  const b = new TokenBucket({ perSecond: 0, burst: 1 }, 0);
  for (let i = 0; i < 100; i++) assert(b.take(0));
});

Deno.test("BucketMap stays bounded under a flood of distinct keys", () => {
  const rate = { perSecond: 1, burst: 5 };
  const m = new BucketMap(100);
  for (let i = 0; i < 10_000; i++) m.get(`k${i}`, rate, 0).take(0);
  assert(m.size <= 100, `size ${m.size}`);
  // A drained bucket that is still held keeps its state.
  const hot = m.get("hot", rate, 0);
  for (let i = 0; i < 5; i++) hot.take(0);
  assertEquals(m.get("hot", rate, 0).take(0), false);
});
