import { assert, assertEquals } from "@std/assert";
import type { Filter, NostrEvent } from "../nostr/types.ts";
import { compareEvents, matchFilter } from "../nostr/filter.ts";
import { KvStore } from "./kv_store.ts";
import { P } from "./keys.ts";
import { fake, PK } from "./store_contract.ts";

/** Two stores on one KV file, as two isolates or instances would be; `b` keeps a hot window. */
async function withTwo(
  hotEvents: number,
  fn: (a: KvStore, b: KvStore, kv: Deno.Kv) => Promise<void>,
  fill?: (a: KvStore) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "nexus-hot-" });
  const a = new KvStore(await Deno.openKv(`${dir}/kv.sqlite`));
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  let b: KvStore | undefined;
  try {
    await fill?.(a);
    b = new KvStore(await Deno.openKv(`${dir}/kv.sqlite`), { hotEvents });
    await b.hot!.start();
    await fn(a, b, kv);
  } finally {
    await b?.close();
    await a.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const ids = (evs: NostrEvent[]) => evs.map((e) => e.id);

/** What a filter must return, from the events known to be stored. */
function expected(stored: NostrEvent[], f: Filter): string[] {
  return ids(stored.filter((e) => matchFilter(f, e)).sort(compareEvents).slice(0, f.limit));
}

Deno.test("hot events: another handle's writes, deletions and replacements are seen at once", async () => {
  await withTwo(10_000, async (a, b) => {
    const stored: NostrEvent[] = [];
    for (let i = 0; i < 40; i++) {
      const ev = fake({ created_at: 1_700_000_000 + i, tags: [["p", PK.b]] });
      assertEquals((await a.event(ev)).verdict, [true, ""]);
      stored.push(ev);
      // Straight after the OK, through the other handle: the window must not answer stale.
      const f = { kinds: [1], limit: 100 };
      assertEquals(ids(await b.query([f])), expected(stored, f), `after write ${i}`);
    }
    const victim = stored[10]!;
    const deletion = fake({ kind: 5, created_at: 1_700_000_100, tags: [["e", victim.id]] });
    await a.event(deletion);
    stored.splice(10, 1);
    assertEquals(
      ids(await b.query([{ kinds: [1], limit: 100 }])),
      expected(stored, { kinds: [1] }),
    );
    assertEquals(await b.query([{ ids: [victim.id] }]), []);

    const v1 = fake({ kind: 0, created_at: 1_700_000_200, content: "v1" });
    const v2 = fake({ kind: 0, created_at: 1_700_000_201, content: "v2" });
    await a.event(v1);
    assertEquals(ids(await b.query([{ kinds: [0], authors: [PK.a] }])), [v1.id]);
    await a.event(v2);
    assertEquals(ids(await b.query([{ kinds: [0], authors: [PK.a] }])), [v2.id]);

    // Once the window has caught up it answers; without this the test could pass on KV alone.
    await b.hot!.poll();
    const before = b.hot!.hits;
    for (const f of [{ "#p": [PK.b], limit: 5 }, { authors: [PK.a], limit: 3 }, { ids: [v2.id] }]) {
      assertEquals(ids(await b.query([f])), expected([...stored, deletion, v2], f));
    }
    assert(b.hot!.hits >= before + 3, `answered from memory: ${b.hot!.hits - before} of 3`);
  });
});

Deno.test("hot events: a window smaller than the store answers the newest and leaves the rest to KV", async () => {
  const stored: NostrEvent[] = [];
  await withTwo(30, async (_a, b) => {
    assert(b.hot!.size <= 30, `holds ${b.hot!.size}`);
    const filters: Filter[] = [
      { kinds: [1], limit: 10 }, // within the window
      { kinds: [1], limit: 80 }, // reaches below it
      { authors: [PK.c] }, // every event of an author, some below the window
      { kinds: [1], until: 1_700_000_020, limit: 5 }, // entirely below it
      { ids: [stored[0]!.id, stored[99]!.id] },
    ];
    const hits = b.hot!.hits;
    for (const f of filters) assertEquals(ids(await b.query([f])), expected(stored, f));
    assertEquals(b.hot!.hits - hits, 1, "only the first filter fits the window");
  }, async (a) => {
    for (let i = 0; i < 100; i++) {
      const ev = fake({ created_at: 1_700_000_000 + i, pubkey: i % 2 ? PK.c : PK.a });
      await a.event(ev);
      stored.push(ev);
    }
  });
});

Deno.test("hot events: feed entries that expired unread make the window load again, not lie", async () => {
  await withTwo(10_000, async (a, b, kv) => {
    const first = fake({ created_at: 1_700_000_000 });
    await a.event(first);
    await b.query([{ kinds: [1] }]); // in step
    // Events written and their feed entries gone before b read them, as after a long stall.
    const later = [fake({ created_at: 1_700_000_001 }), fake({ created_at: 1_700_000_002 })];
    for (const ev of later) await a.event(ev);
    for await (const e of kv.list({ prefix: [P.feed, a.writerId] })) await kv.delete(e.key);
    const f = { kinds: [1], limit: 10 };
    const want = expected([first, ...later], f);
    for (let i = 0; i < 50; i++) {
      assertEquals(ids(await b.query([f])), want);
      await new Promise((r) => setTimeout(r, 20));
    }
    const hits = b.hot!.hits;
    assertEquals(ids(await b.query([f])), want);
    assertEquals(b.hot!.hits, hits + 1, "loaded again and answering");
  });
});
