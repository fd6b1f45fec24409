import { assertEquals } from "@std/assert";
import { SecondWindow } from "./stats_window.ts";

Deno.test("SecondWindow counts per second and reads oldest first", () => {
  const w = new SecondWindow(10);
  w.add(100);
  w.add(100, 2);
  w.add(102);
  assertEquals(w.seconds(102, 4), [0, 3, 0, 1]);
  assertEquals(w.sum(102, 3), 4);
});

Deno.test("SecondWindow forgets seconds that left the window", () => {
  const w = new SecondWindow(10);
  w.add(100, 5);
  // Second 110 lands in the same ring slot as 100: the old count must not leak into it.
  w.add(110, 1);
  assertEquals(w.at(100), 0);
  assertEquals(w.at(110), 1);
  // Reading far in the future sees nothing, even though the slots still hold stale counts.
  assertEquals(w.seconds(200, 3), [0, 0, 0]);
});

Deno.test("SecondWindow sums whole minutes, the last one in progress", () => {
  const w = new SecondWindow(3600);
  const base = 60 * 1000; // a minute boundary
  w.add(base - 1, 7); // previous minute
  w.add(base, 1);
  w.add(base + 59, 2); // same minute as base
  w.add(base + 60, 4); // next minute, after endSec below
  assertEquals(w.minutes(base + 30, 3), [0, 7, 1]);
  assertEquals(w.minutes(base + 60, 2), [3, 4]);
});
