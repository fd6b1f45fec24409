import { assertEquals } from "@std/assert";
import { RecentIds } from "./recent_ids.ts";

Deno.test("RecentIds: remembers ids, reports repeats, forgets the oldest half when full", () => {
  const r = new RecentIds(4);
  assertEquals([r.add("a"), r.add("b"), r.add("a")], [true, true, false]);
  for (const id of ["c", "d", "e"]) r.add(id); // the fifth id overflows: a and b go
  assertEquals(["a", "b", "c", "d", "e"].map((id) => r.has(id)), [false, false, true, true, true]);
});
