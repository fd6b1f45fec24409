import { assertEquals } from "@std/assert";
import { Stats } from "./stats.ts";

Deno.test("Stats counts distinct authenticated agents across connections", () => {
  const s = new Stats(() => 1_000_000);
  const a = new Set<string>(), b = new Set<string>();
  s.open();
  s.open();
  s.authenticate("alice", a);
  a.add("alice");
  s.authenticate("alice", a); // again on the same connection: no change
  s.authenticate("alice", b);
  b.add("alice");
  s.authenticate("bob", b);
  b.add("bob");
  assertEquals([s.agents, s.authenticatedConnections, s.connections], [2, 2, 2]);
  s.close(a);
  assertEquals([s.agents, s.authenticatedConnections], [2, 1]);
  s.close(b);
  assertEquals([s.agents, s.authenticatedConnections, s.connections, s.peakConnections], [
    0,
    0,
    0,
    2,
  ]);
});

Deno.test("Stats classifies accepted kinds and windows the flows", () => {
  let now = 5_000_000;
  const s = new Stats(() => now);
  s.receive();
  s.accept(5050);
  s.accept(20001, false);
  s.accept(31990);
  now += 1000;
  s.refuse("invalid: bad");
  s.refuse("auth-required: who are you");
  s.refuse("no prefix here");
  assertEquals(s.classes.get("job_request"), 1);
  assertEquals(s.classes.get("regular"), 1);
  assertEquals(s.classes.get("ephemeral"), 1);
  assertEquals(s.classes.get("addressable"), 1);
  assertEquals(s.classes.get("handler"), 1);
  assertEquals([s.stored, s.ephemeral, s.refusedTotal], [2, 1, 3]);
  assertEquals(Object.fromEntries(s.refused), { invalid: 1, "auth-required": 1, other: 1 });
  const sec = Math.floor(now / 1000);
  assertEquals(s.windows.stored.seconds(sec, 2), [2, 0]);
  assertEquals(s.windows.refused.seconds(sec, 2), [0, 3]);
  assertEquals(s.windows.received.sum(sec, 60), 1);
});
