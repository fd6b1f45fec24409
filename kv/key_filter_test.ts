import { assert, assertEquals } from "@std/assert";
import { KeyFilter } from "./key_filter.ts";

Deno.test("KeyFilter: every key added is kept; at capacity about 1% of others look present", () => {
  const f = new KeyFilter(100_000);
  const keys = Array.from(
    { length: 100_000 },
    (_, i) => `te\u0000${i.toString(16).padStart(64, "0")}`,
  );
  for (const k of keys) f.add(k);
  assertEquals(keys.filter((k) => !f.mayHave(k)).length, 0, "no key added is ever absent");
  assert(!f.full);
  let present = 0;
  for (let i = 0; i < 100_000; i++) if (f.mayHave(`tp\u0000other-${i}`)) present++;
  assert(present < 2_000, `${present} of 100,000 keys never added look present`);
  f.add("one more");
  assert(f.full, "more keys than it was sized for");
});
