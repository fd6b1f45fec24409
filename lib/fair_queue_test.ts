import { assert, assertEquals } from "@std/assert";
import { FairQueue } from "./fair_queue.ts";

Deno.test("FairQueue: sources are served in turns, each in its own order", () => {
  const q = new FairQueue<string>();
  for (let i = 0; i < 5; i++) q.push("flood", `f${i}`);
  q.push("honest", "h0");
  q.push("other", "o0");
  q.push("other", "o1");
  assertEquals(q.length, 8);
  assertEquals(q.take(4, () => true), ["f0", "h0", "o0", "f1"]);
  // The last one served waits for the others' turns.
  assertEquals(q.take(3, () => true), ["o1", "f2", "f3"]);
  q.push("honest", "h1");
  assertEquals(q.take(10, () => true), ["f4", "h1"]);
  assertEquals(q.length, 0);
  assertEquals(q.take(10, () => true), []);
});

Deno.test("FairQueue: a batch ends at the first item that does not fit, the first always taken", () => {
  const q = new FairQueue<number>();
  q.push("a", 70);
  q.push("b", 20);
  q.push("a", 5);
  let budget = 0;
  const fits = (n: number) => (budget += n) <= 60;
  assertEquals(q.take(10, fits), [70], "too big alone, taken alone");
  budget = 0;
  assertEquals(q.take(10, fits), [20, 5]);
  q.push("a", 50);
  q.push("b", 50);
  budget = 0;
  assertEquals(q.take(10, fits), [50], "the next does not fit: it waits, first in line");
  assertEquals(q.length, 1);
});

Deno.test("FairQueue: a source that never runs dry does not hold a slot for every item it pushed", () => {
  const q = new FairQueue<number>();
  q.push("flood", 0);
  for (let i = 1; i <= 100_000; i++) {
    q.push("flood", i);
    assertEquals(q.take(1, () => true), [i - 1], "each in its order");
  }
  assertEquals(q.length, 1);
  assert(q.slots < 2 * 1024 + 2, `${q.slots} slots held for one waiting item`);
  assertEquals(q.take(1, () => true), [100_000]);
});
