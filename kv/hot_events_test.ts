import { assertEquals } from "@std/assert";
import { HotEvents, order } from "./hot_events.ts";
import { fake, PK } from "./store_contract.ts";

const at = (vs: number, i = 0) => order(String(vs).padStart(20, "0"), 1, i);

Deno.test("HotEvents: the latest change per id wins whatever order changes arrive in", () => {
  const h = new HotEvents(100);
  const ev = fake();
  // Stored at 1, removed at 2, stored again at 3; delivered 2, 1, 3 then 1 again.
  h.apply({ removed: ev.id }, at(2));
  h.apply({ ev, expiresAt: 0 }, at(1));
  assertEquals(h.query({ ids: [ev.id] }, 0), []);
  h.apply({ ev, expiresAt: 0 }, at(3));
  h.apply({ removed: ev.id }, at(2));
  assertEquals(h.query({ ids: [ev.id] }, 0), [ev]);
  // Within one commit, a store then a removal of the same event leaves it removed.
  const other = fake();
  h.apply({ ev: other, expiresAt: 0 }, at(4, 0));
  h.apply({ removed: other.id }, at(4, 1));
  assertEquals(h.query({ ids: [other.id] }, 0), []);
});

Deno.test("HotEvents: eviction lets whole seconds go and refuses answers that reach below", () => {
  const h = new HotEvents(10);
  const evs = Array.from(
    { length: 12 },
    (_, i) => fake({ created_at: 1000 + Math.floor(i / 2), pubkey: i % 2 ? PK.b : PK.a }),
  );
  evs.forEach((ev, i) => h.apply({ ev, expiresAt: 0 }, at(i + 1)));
  // 12 > 10: the oldest tenth and the rest of its second went, so low sits on a second boundary.
  assertEquals(h.low % 1, 0);
  assertEquals(evs.filter((e) => e.created_at >= h.low).length, h.size);
  assertEquals(h.query({ kinds: [1], limit: 3 }, 0)?.length, 3);
  assertEquals(h.query({ kinds: [1], limit: 50 }, 0), undefined);
  assertEquals(h.query({ kinds: [1], since: h.low }, 0)?.length, h.size);
  assertEquals(h.query({ ids: [evs[0]!.id] }, 0), undefined);
  // An event older than the window is not taken in.
  h.apply({ ev: fake({ created_at: 10 }), expiresAt: 0 }, at(99));
  assertEquals(h.query({ kinds: [1], since: h.low }, 0)?.length, h.size);
});

Deno.test("HotEvents: expired events are skipped before the limit counts them", () => {
  const h = new HotEvents(100);
  const old = fake({ created_at: 1 });
  const gone = fake({ created_at: 2 });
  h.apply({ ev: old, expiresAt: 0 }, at(1));
  h.apply({ ev: gone, expiresAt: 50 }, at(2));
  assertEquals(h.query({ kinds: [1], limit: 1 }, 100), [old]);
  assertEquals(h.query({ kinds: [1], limit: 1 }, 10), [gone]);
});

Deno.test("HotEvents: eviction right after many removals keeps every held event listed", () => {
  // Removals pile up uncompacted, then an insert over max evicts: the compaction a drop may start
  // must not replace the list the eviction walks.
  const max = 2000;
  const h = new HotEvents(max);
  let n = 0;
  let t = 1_700_000_000;
  const held = Array.from({ length: max }, () => fake({ created_at: t++ }));
  for (const ev of held) h.apply({ ev, expiresAt: 0 }, at(++n));
  for (let i = 0; i < 1700; i++) {
    h.apply({ removed: held[max - 1 - i]!.id }, at(++n));
    h.apply({ ev: fake({ created_at: t++ }), expiresAt: 0 }, at(++n));
  }
  h.apply({ ev: fake({ created_at: t++ }), expiresAt: 0 }, at(++n));
  assertEquals(h.query({ since: h.low }, 0)?.length, h.size);
});

Deno.test("HotEvents: answers as the KV scan does at the edges (non-letter tags, largest created_at)", () => {
  const h = new HotEvents(100);
  const digitTag = fake({ tags: [["1", "x"]] });
  const last = fake({ created_at: Number.MAX_SAFE_INTEGER });
  h.apply({ ev: digitTag, expiresAt: 0 }, at(1));
  h.apply({ ev: last, expiresAt: 0 }, at(2));
  // KV indexes letter tags only, and scans up to MAX_SAFE_INTEGER - 1 without `until`.
  assertEquals(h.query({ "#1": ["x"] }, 0), []);
  assertEquals(h.query({}, 0), [digitTag]);
});
