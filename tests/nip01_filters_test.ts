import { assert, assertEquals } from "@std/assert";
import type { NostrEvent } from "../nostr/types.ts";
import { Agent, Client, now, withRelay } from "./helpers.ts";

const ids = (evs: NostrEvent[]) => evs.map((e) => e.id);

Deno.test("REQ: every filter field, AND within a filter, OR across filters, no duplicates", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const [a, b] = [new Agent(), new Agent()];
    const t = now() - 100;
    const e1 = a.sign({ kind: 1, created_at: t, tags: [["t", "x"], ["e", "1".repeat(64)]] });
    const e2 = b.sign({ kind: 7, created_at: t + 10, tags: [["T", "x"], ["p", a.pubkey]] });
    const e3 = a.sign({ kind: 7, created_at: t + 20, tags: [["t", "y"], ["Q", "q"]] });
    const e4 = b.sign({ kind: 1, created_at: t + 30, tags: [["d", "x"]] });
    for (const ev of [e1, e2, e3, e4]) assertEquals((await c.publish(ev))[2], true);
    const q = async (...f: Parameters<Client["req"]>[1][]) => ids((await c.req("q", ...f)).events);
    assertEquals(await q({ ids: [e1.id, e3.id] }), [e3.id, e1.id]);
    assertEquals(await q({ authors: [a.pubkey] }), [e3.id, e1.id]);
    assertEquals(await q({ kinds: [7] }), [e3.id, e2.id]);
    assertEquals(await q({ "#t": ["x"] }), [e1.id]);
    assertEquals(await q({ "#T": ["x"] }), [e2.id]);
    assertEquals(await q({ "#Q": ["q"] }), [e3.id]);
    assertEquals(await q({ "#e": ["1".repeat(64)] }), [e1.id]);
    assertEquals(await q({ "#p": [a.pubkey] }), [e2.id]);
    assertEquals(await q({ "#d": ["x"] }), [e4.id]);
    assertEquals(await q({ since: t + 10, until: t + 20 }), [e3.id, e2.id], "inclusive bounds");
    assertEquals(await q({ authors: [a.pubkey], kinds: [7] }), [e3.id]);
    assertEquals(await q({ authors: [a.pubkey], "#t": ["x", "y"], until: t + 19 }), [e1.id]);
    assertEquals(await q({ kinds: [1] }, { authors: [a.pubkey] }, { "#t": ["x"] }), [
      e4.id,
      e3.id,
      e1.id,
    ]);
    assertEquals(await q({ kinds: [1], limit: 1 }, { kinds: [7], limit: 1 }), [e4.id, e3.id]);
    await c.close();
  });
});

Deno.test("REQ: limit is clamped to NEXUS_MAX_LIMIT, and NEXUS_DEFAULT_LIMIT applies without one", async () => {
  await withRelay({ NEXUS_MAX_LIMIT: "3", NEXUS_DEFAULT_LIMIT: "2" }, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    const t = now() - 100;
    const evs = Array.from({ length: 5 }, (_, i) => a.sign({ created_at: t + i }));
    for (const ev of evs) await c.publish(ev);
    const newest = ids(evs).reverse();
    assertEquals(ids((await c.req("a", { limit: 10 })).events), newest.slice(0, 3));
    assertEquals(ids((await c.req("b", {})).events), newest.slice(0, 2));
    assertEquals(ids((await c.req("c", { limit: 1 })).events), newest.slice(0, 1));
    // The limit bounds the stored events only; COUNT ignores it.
    assertEquals(await c.count("n", { limit: 1 }), 5);
    await c.close();
  });
});

Deno.test("REQ: limit 0 sends only EOSE and the subscription stays live", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    await c.publish(a.sign({ content: "old" }));
    const res = await c.req("live", { authors: [a.pubkey], limit: 0 });
    assertEquals(res.events, []);
    const fresh = a.sign({ content: "new" });
    await c.publish(fresh);
    assertEquals((await c.nextEvent("live")).id, fresh.id);
    await c.close();
  });
});

Deno.test("REQ: invalid filters are refused with CLOSED invalid:", async () => {
  await withRelay({ NEXUS_MAX_FILTERS: "2", NEXUS_MAX_FILTER_VALUES: "2" }, async (r) => {
    const c = await Client.connect(r.url);
    const bad: unknown[][] = [
      [{ kinds: ["1"] }],
      [{ ids: ["xyz"] }],
      [{ authors: "a" }],
      [{ since: 1.5 }],
      [{ limit: -1 }],
      [{ "#tag": ["x"] }],
      [{}, {}, {}],
      [{ kinds: [1, 2, 3] }],
      [],
      ["x"],
    ];
    for (const [i, filters] of bad.entries()) {
      const res = await c.req(`bad${i}`, ...(filters as Record<string, never>[]));
      assert(res.closed?.startsWith("invalid:"), `${JSON.stringify(filters)}: ${res.closed}`);
    }
    assertEquals((await c.req("ok", { kinds: [1, 2] }, {})).closed, undefined);
    await c.close();
  });
});
