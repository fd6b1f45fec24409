import { assertEquals } from "@std/assert";
import { Stats } from "./stats.ts";
import { SHORT_SECONDS, sumSnapshots, takeSnapshot } from "./stats_snapshot.ts";

Deno.test("sumSnapshots adds isolates and aligns their windows to one moment", () => {
  let now = 1_000_000_000;
  const a = new Stats(() => now), b = new Stats(() => now);
  a.open();
  a.accept(1);
  b.open();
  b.open();
  b.accept(1);
  b.accept(7);
  b.refuse("rate-limited: slow down");
  const snapB = takeSnapshot("b", b, {
    subscriptions: 3,
    verifyThreads: 1,
    cache: {
      held: 40,
      fromMemory: 5,
      fromStorage: 2,
      countsFromMemory: 4,
      countsFromStorage: 1,
      provenBelow: 3,
    },
  });
  now += 2000; // b's snapshot is now two seconds old
  a.accept(1);
  const snapA = takeSnapshot("a", a, {
    subscriptions: 1,
    cache: {
      held: 30,
      fromMemory: 7,
      fromStorage: 1,
      countsFromMemory: 2,
      countsFromStorage: 6,
      provenBelow: 1,
    },
  });
  const sum = sumSnapshots([snapA, snapB], now);
  assertEquals([sum.connections, sum.subscriptions, sum.totals.stored], [3, 4, 4]);
  assertEquals(sum.peak_connections, 3);
  assertEquals(sum.refusals, { "rate-limited": 1 });
  assertEquals(sum.kinds, [[1, 3], [7, 1]]);
  assertEquals(sum.classes.regular, 4);
  // a stored one event two seconds ago and one now; b's two events were two seconds ago.
  assertEquals(sum.short.stored.slice(SHORT_SECONDS - 3), [3, 0, 1]);
  assertEquals(sum.isolates.map((i) => [i.id, i.hot_events]), [["a", 30], ["b", 40]]);
  assertEquals(sum.isolates.map((i) => [i.id, i.verify_threads]), [["a", 0], ["b", 1]]);
  // Each isolate holds its own copy of the window: the largest, not the sum.
  assertEquals(sum.cache, {
    held: 40,
    from_memory: 12,
    from_storage: 3,
    counts_from_memory: 6,
    counts_from_storage: 7,
    proven_below: 4,
  });
});

Deno.test("sumSnapshots counts an agent signed in on two isolates once", () => {
  const a = new Stats(), b = new Stats();
  const [alice, bob, carol] = ["a1", "b2", "c3"].map((p) => p.repeat(32));
  a.open();
  a.authenticate(alice!, new Set());
  a.open();
  a.authenticate(bob!, new Set());
  b.open();
  b.authenticate(alice!, new Set());
  b.open();
  b.authenticate(carol!, new Set());
  const snap = (id: string, s: Stats) => takeSnapshot(id, s, { subscriptions: 0 });
  const sum = sumSnapshots([snap("a", a), snap("b", b)], Date.now());
  assertEquals([sum.agents, sum.authenticated_connections], [3, 4]);
  // A snapshot without keys (an older build) still counts its agents.
  const old = { ...snap("c", b), agent_keys: undefined };
  const mixed = sumSnapshots(
    [snap("a", a), old as unknown as ReturnType<typeof takeSnapshot>],
    Date.now(),
  );
  assertEquals(mixed.agents, 4);
});
