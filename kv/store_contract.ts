/**
 * @module The NStore contract as one test suite: every store (Deno KV, in memory) must pass it
 * unchanged, so the relay can rely on the same semantics whichever store it runs on.
 */
import { assert, assertEquals } from "@std/assert";
import { bytesToHex } from "@noble/hashes/utils.js";
import { expirationOf } from "../nostr/kinds.ts";
import type { NostrEvent } from "../nostr/types.ts";
import { KvStore } from "./kv_store.ts";
import type { NStore, RetentionFn } from "./store.ts";

/** Opens a fresh, empty store; `cleanup` runs after the store is closed. */
export type OpenStore = (
  opts: { retention?: RetentionFn },
) => Promise<{ store: NStore; cleanup?: () => Promise<void> }>;

/** Three authors, as fixed hex keys so tests can name them. */
export const PK = { a: "a".repeat(64), b: "b".repeat(64), c: "c".repeat(64) };

/** A random 64-hex id. */
export function randomId(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}

/** An id sorting at a chosen position: `idAt(1) < idAt(2)`. */
export function idAt(n: number): string {
  return n.toString(16).padStart(64, "0");
}

/** An unsigned event for store tests: stores do not verify signatures, the relay does. */
export function fake(t: Partial<NostrEvent> = {}): NostrEvent {
  return {
    id: t.id ?? randomId(),
    pubkey: t.pubkey ?? PK.a,
    created_at: t.created_at ?? 1_700_000_000,
    kind: t.kind ?? 1,
    tags: t.tags ?? [],
    content: t.content ?? "",
    sig: t.sig ?? "0".repeat(128),
  };
}

/** NIP-40 as a retention function: an event ends at its expiration tag. */
const nip40: RetentionFn = (ev) => expirationOf(ev.tags);

const now = () => Math.floor(Date.now() / 1000);
const ids = (evs: NostrEvent[]) => evs.map((e) => e.id);

/** Run `fn` on a KvStore over a fresh in-memory KV, closing the store afterwards. */
export async function withKvStore(
  fn: (store: KvStore, kv: Deno.Kv) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const store = new KvStore(kv);
  try {
    await fn(store, kv);
  } finally {
    await store.close();
  }
}

/** Register the whole contract as Deno tests named `<name>: ...`. */
export function storeContract(name: string, open: OpenStore): void {
  const test = (
    title: string,
    fn: (s: NStore) => Promise<void>,
    retention?: RetentionFn,
  ) =>
    Deno.test(`${name}: ${title}`, async () => {
      const { store, cleanup } = await open({ retention });
      try {
        await fn(store);
      } finally {
        await store.close();
        await cleanup?.();
      }
    });

  const put = async (s: NStore, ...evs: NostrEvent[]) => {
    for (const ev of evs) {
      const r = await s.event(ev);
      assertEquals(r.verdict, [true, ""], `storing ${ev.id} kind ${ev.kind}`);
      assert(r.stored);
    }
  };

  test("stores, queries and returns the event field for field", async (s) => {
    const ev = fake({ tags: [["t", "x"], ["p", PK.b, "wss://r"]], content: "hi \u2603" });
    await put(s, ev);
    assertEquals(await s.query([{ ids: [ev.id] }]), [ev]);
    assertEquals(await s.count([{ ids: [ev.id] }]), 1);
  });

  test("a duplicate is OK true with duplicate: and stored once", async (s) => {
    const ev = fake();
    await put(s, ev);
    const r = await s.event(ev);
    assertEquals(r.verdict[0], true);
    assert(r.verdict[1].startsWith("duplicate:"), r.verdict[1]);
    assertEquals(r.stored, false);
    assertEquals(ids(await s.query([{}])), [ev.id]);
  });

  test("results are newest first, ties by lowest id", async (s) => {
    const evs = [
      fake({ id: idAt(3), created_at: 10 }),
      fake({ id: idAt(9), created_at: 20 }),
      fake({ id: idAt(1), created_at: 10 }),
      fake({ id: idAt(2), created_at: 30 }),
      fake({ id: idAt(5), created_at: 10 }),
    ];
    await put(s, ...evs);
    const want = [idAt(2), idAt(9), idAt(1), idAt(3), idAt(5)];
    assertEquals(ids(await s.query([{}])), want);
    assertEquals(ids(await s.query([{ kinds: [1] }])), want);
    assertEquals(ids(await s.query([{ authors: [PK.a] }])), want);
    assertEquals(ids(await s.query([{ authors: [PK.a], kinds: [1] }])), want);
    assertEquals(ids(await s.query([{ ids: [idAt(5), idAt(1), idAt(2)] }])), [
      idAt(2),
      idAt(1),
      idAt(5),
    ]);
    assertEquals(ids(await s.query([{ limit: 3 }])), want.slice(0, 3));
  });

  test("limit applies after every condition, on every index", async (s) => {
    // Older matches buried under many newer non-matches must still come back.
    const match = [
      fake({ kind: 7, pubkey: PK.b, tags: [["t", "x"]], created_at: 100 }),
      fake({ kind: 7, pubkey: PK.b, tags: [["t", "x"]], created_at: 101 }),
      fake({ kind: 7, pubkey: PK.b, tags: [["t", "x"]], created_at: 102 }),
    ];
    const noise: NostrEvent[] = [];
    for (let i = 0; i < 40; i++) {
      noise.push(fake({ kind: 7, pubkey: PK.b, tags: [["t", "y"]], created_at: 200 + i }));
      noise.push(fake({ kind: 1, pubkey: PK.b, tags: [["t", "x"]], created_at: 200 + i }));
      noise.push(fake({ kind: 7, pubkey: PK.a, tags: [["t", "x"]], created_at: 200 + i }));
    }
    await put(s, ...match, ...noise);
    const want = [match[2]!.id, match[1]!.id];
    for (
      const f of [
        { kinds: [7], authors: [PK.b], "#t": ["x"] },
        { kinds: [7], "#t": ["x"], authors: [PK.b, PK.c] },
        { "#t": ["x"], authors: [PK.b], kinds: [7], until: 150 },
        { kinds: [7], authors: [PK.b], "#t": ["x"], since: 101 },
      ]
    ) {
      assertEquals(ids(await s.query([{ ...f, limit: 2 }])), want, JSON.stringify(f));
    }
    assertEquals(ids(await s.query([{ until: 101, limit: 1 }])), [match[1]!.id]);
    assertEquals(await s.query([{ limit: 0 }]), []);
    assertEquals(await s.count([{ kinds: [7], authors: [PK.b], "#t": ["x"], limit: 1 }]), 3);
  });

  test("visible: hidden events neither take a query's limit nor count", async (s) => {
    const shown = fake({ kind: 4, created_at: 10, content: "mine" });
    for (let i = 0; i < 3; i++) await s.event(fake({ kind: 4, created_at: 20 + i }));
    await s.event(shown);
    const visible = (ev: NostrEvent) => ev.content === "mine";
    assertEquals(ids(await s.query([{ kinds: [4], limit: 1 }], { visible })), [shown.id]);
    assertEquals(await s.count([{ kinds: [4] }], { visible }), 1);
    assertEquals(await s.count([{ kinds: [4] }]), 4);
  });

  test("every filter field, upper-case tags distinct, since/until inclusive", async (s) => {
    const e1 = fake({ pubkey: PK.a, kind: 1, created_at: 10, tags: [["t", "x"], ["e", idAt(7)]] });
    const e2 = fake({ pubkey: PK.b, kind: 2, created_at: 20, tags: [["T", "x"], ["p", PK.c]] });
    const e3 = fake({ pubkey: PK.c, kind: 3, created_at: 30, tags: [["t", "y"], ["Z", "q"]] });
    const e4 = fake({ pubkey: PK.a, kind: 1, created_at: 40, tags: [["d", "x"], ["t"]] });
    await put(s, e1, e2, e3, e4);
    const q = async (...f: Parameters<NStore["query"]>[0]) => ids(await s.query(f));
    assertEquals(await q({ ids: [e1.id, e3.id] }), [e3.id, e1.id]);
    assertEquals(await q({ authors: [PK.a] }), [e4.id, e1.id]);
    assertEquals(await q({ authors: [PK.b, PK.c] }), [e3.id, e2.id]);
    assertEquals(await q({ kinds: [1, 2] }), [e4.id, e2.id, e1.id]);
    assertEquals(await q({ "#t": ["x"] }), [e1.id]);
    assertEquals(await q({ "#T": ["x"] }), [e2.id]);
    assertEquals(await q({ "#t": ["x", "y"] }), [e3.id, e1.id]);
    assertEquals(await q({ "#Z": ["q"] }), [e3.id]);
    assertEquals(await q({ "#z": ["q"] }), []);
    assertEquals(await q({ "#e": [idAt(7)] }), [e1.id]);
    assertEquals(await q({ "#p": [PK.c] }), [e2.id]);
    assertEquals(await q({ "#d": ["x"] }), [e4.id]);
    assertEquals(await q({ since: 20 }), [e4.id, e3.id, e2.id]);
    assertEquals(await q({ until: 30 }), [e3.id, e2.id, e1.id]);
    assertEquals(await q({ since: 20, until: 30 }), [e3.id, e2.id]);
    assertEquals(await q({ since: 20, until: 20 }), [e2.id]);
    assertEquals(await q({ since: 31, until: 30 }), []);
    // Fields AND together.
    assertEquals(await q({ authors: [PK.a], kinds: [1], "#t": ["x"] }), [e1.id]);
    assertEquals(await q({ authors: [PK.a], "#t": ["y"] }), []);
    assertEquals(await q({ ids: [e1.id], kinds: [2] }), []);
    assertEquals(await q({ ids: [e1.id, e2.id], since: 15 }), [e2.id]);
    // Filters OR together, each event once.
    assertEquals(await q({ kinds: [1] }, { authors: [PK.a] }, { "#t": ["x"] }), [e4.id, e1.id]);
    assertEquals(await q({ kinds: [3] }, { "#T": ["x"] }), [e3.id, e2.id]);
    // Each filter's limit is its own.
    assertEquals(await q({ kinds: [1], limit: 1 }, { kinds: [2, 3], limit: 1 }), [e4.id, e3.id]);
    assertEquals(await s.count([{ kinds: [1] }, { authors: [PK.a] }, { since: 30 }]), 3);
  });

  test("concurrent writes: one copy, one current version", async (s) => {
    const ev = fake();
    const versions = Array.from(
      { length: 30 },
      (_, i) => fake({ kind: 10002, created_at: 100 + i }),
    );
    const results = await Promise.all([
      s.event(ev),
      s.event(ev),
      ...versions.map((v) => s.event(v)),
    ]);
    assertEquals(results.slice(0, 2).filter((r) => r.stored).length, 1);
    assertEquals(ids(await s.query([{ kinds: [10002] }])), [versions.at(-1)!.id]);
    assertEquals(await s.count([{}]), 2);
  });

  test("large events (not copied into index entries) are served from every index", async (s) => {
    const big = fake({ kind: 1, content: "x".repeat(20_000), tags: [["t", "big"]] });
    const small = fake({ kind: 1, created_at: 1, tags: [["t", "big"]] });
    await put(s, big, small);
    for (
      const f of [{}, { kinds: [1] }, { authors: [PK.a] }, { "#t": ["big"] }, { ids: [big.id] }]
    ) {
      assertEquals(await s.query([{ ...f, limit: 1 }]), [big], JSON.stringify(f));
    }
  });

  test("large and small events interleaved come back in order, past any batch", async (s) => {
    const evs = Array.from({ length: 80 }, (_, i) =>
      fake({
        kind: 1,
        created_at: 1_700_000_000 + Math.floor(i / 2), // pairs share a second: ties by id
        content: i % 3 === 0 ? "x".repeat(3000) + i : `small ${i}`,
        tags: [["t", "mix"]],
      }));
    for (const ev of evs) await put(s, ev);
    await put(s, fake({ kind: 5, tags: [["e", evs[78]!.id]] })); // a large one, gone
    const want = evs.filter((_, i) => i !== 78).sort((a, b) =>
      b.created_at - a.created_at || (a.id < b.id ? -1 : 1)
    );
    for (const f of [{ "#t": ["mix"] }, { authors: [PK.a], kinds: [1] }, { kinds: [1] }]) {
      for (const limit of [1, 17, 64, 65, 79, 100]) {
        assertEquals(
          ids(await s.query([{ ...f, limit }])),
          ids(want.slice(0, limit)),
          `${JSON.stringify(f)} limit ${limit}`,
        );
      }
    }
    assertEquals(await s.count([{ "#t": ["mix"] }]), 79);
  });

  test("an addressable event with many long tags can be replaced", async (s) => {
    // About 16 KB of tag values: well inside a message, and two versions fit one KV commit.
    const tags = (
      v: string,
    ) => [
      ["d", "big"],
      ...Array.from({ length: 150 }, (_, i) => ["t", `${v}${i}`.padEnd(100, "x")]),
    ];
    const v1 = fake({ kind: 30078, created_at: 100, tags: tags("a") });
    const v2 = fake({ kind: 30078, created_at: 200, tags: tags("b") });
    await put(s, v1, v2);
    assertEquals(ids(await s.query([{ kinds: [30078] }])), [v2.id]);
    assertEquals(await s.count([{ "#t": [v1.tags[1]![1]!] }]), 0);
    assertEquals(await s.count([{ "#t": [v2.tags[150]![1]!] }]), 1);
  });

  test("remove deletes what matches and nothing else", async (s) => {
    const a = fake({ kind: 1 }), b = fake({ kind: 2 }), c = fake({ kind: 1, pubkey: PK.b });
    await put(s, a, b, c);
    assertEquals(await s.remove([{ kinds: [1], authors: [PK.a] }, { ids: [b.id] }]), 2);
    assertEquals(ids(await s.query([{}])), [c.id]);
    assertEquals(await s.count([{}]), 1);
    assertEquals(await s.remove([{ kinds: [9] }]), 0);
  });

  for (const kind of [0, 3, 10000, 19999]) {
    test(`replaceable kind ${kind} keeps only the newest`, async (s) => {
      const v1 = fake({ kind, created_at: 100 });
      const v2 = fake({ kind, created_at: 200 });
      const other = fake({ kind, pubkey: PK.b, created_at: 50 });
      await put(s, v1, other, v2);
      assertEquals(ids(await s.query([{ kinds: [kind] }])), [v2.id, other.id]);
      const old = await s.event(fake({ kind, created_at: 150 }));
      assertEquals(old.verdict[0], false);
      assert(old.verdict[1].startsWith("invalid:"), old.verdict[1]);
      assertEquals(ids(await s.query([{ kinds: [kind], authors: [PK.a] }])), [v2.id]);
      assertEquals(await s.count([{ authors: [PK.a] }]), 1);
    });
  }

  test("replaceable with equal created_at keeps the lowest id, whichever came first", async (s) => {
    await put(s, fake({ id: idAt(5), kind: 0, created_at: 100 }));
    await put(s, fake({ id: idAt(3), kind: 0, created_at: 100 }));
    const high = await s.event(fake({ id: idAt(4), kind: 0, created_at: 100 }));
    // The reason names the tie: "newer" would send a client looking for a version it never made.
    assertEquals(high.verdict, [
      false,
      "invalid: a version with the same created_at and a lower id is already stored",
    ]);
    const older = await s.event(fake({ id: idAt(1), kind: 0, created_at: 99 }));
    assertEquals(older.verdict, [
      false,
      "invalid: a newer version of this event is already stored",
    ]);
    assertEquals(ids(await s.query([{ kinds: [0] }])), [idAt(3)]);
    await put(s, fake({ id: idAt(6), kind: 30001, created_at: 100, tags: [["d", "x"]] }));
    await put(s, fake({ id: idAt(2), kind: 30001, created_at: 100, tags: [["d", "x"]] }));
    assertEquals(ids(await s.query([{ kinds: [30001] }])), [idAt(2)]);
  });

  for (const kind of [30000, 39999]) {
    test(`addressable kind ${kind} keeps the newest per d tag`, async (s) => {
      const x1 = fake({ kind, created_at: 100, tags: [["d", "x"]] });
      const x2 = fake({ kind, created_at: 200, tags: [["d", "x"]] });
      const y = fake({ kind, created_at: 150, tags: [["d", "y"]] });
      const none1 = fake({ kind, created_at: 100 });
      const none2 = fake({ kind, created_at: 300, tags: [["d", ""]] });
      const otherAuthor = fake({ kind, pubkey: PK.b, created_at: 50, tags: [["d", "x"]] });
      await put(s, x1, y, none1, x2, none2, otherAuthor);
      assertEquals(ids(await s.query([{ kinds: [kind] }])), [
        none2.id,
        x2.id,
        y.id,
        otherAuthor.id,
      ]);
      const stale = await s.event(fake({ kind, created_at: 120, tags: [["d", "x"]] }));
      assertEquals(stale.verdict[0], false);
      assertEquals(ids(await s.query([{ kinds: [kind], "#d": ["x"] }])), [x2.id, otherAuthor.id]);
    });
  }

  test("ephemeral kinds are never stored; kinds beside the ranges are", async (s) => {
    for (const kind of [20000, 25000, 29999]) {
      const r = await s.event(fake({ kind }));
      assertEquals(r.verdict[0], true);
      assertEquals(r.stored, false);
    }
    await put(s, fake({ kind: 9999 }), fake({ kind: 40000 }), fake({ kind: 65535 }));
    await put(s, fake({ kind: 9999 }), fake({ kind: 40000 }));
    assertEquals(await s.count([{ kinds: [20000, 25000, 29999] }]), 0);
    assertEquals(await s.count([{}]), 5);
  });

  test("NIP-09: e deletion removes own events only and blocks re-sending", async (s) => {
    const mine = fake({ kind: 1 });
    const theirs = fake({ kind: 1, pubkey: PK.b });
    const del = fake({
      kind: 5,
      created_at: 1_700_000_100,
      tags: [["e", mine.id], ["e", theirs.id]],
    });
    await put(s, mine, theirs, del);
    assertEquals(ids(await s.query([{ kinds: [1] }])), [theirs.id]);
    assertEquals(ids(await s.query([{ kinds: [5] }])), [del.id], "the deletion itself is stored");
    const again = await s.event(mine);
    assertEquals(again.verdict[0], false);
    assert(again.verdict[1].startsWith("blocked:"), again.verdict[1]);
    assertEquals(await s.count([{ ids: [mine.id] }]), 0);
  });

  test("NIP-09: a deletion that arrives first blocks its target", async (s) => {
    const target = fake({ kind: 1 });
    await put(s, fake({ kind: 5, tags: [["e", target.id]] }));
    assertEquals((await s.event(target)).verdict[0], false);
    assertEquals(await s.count([{ kinds: [1] }]), 0);
  });

  test("NIP-09: a stranger's deletion request does not lift the author's", async (s) => {
    const mine = fake({ kind: 1 });
    await put(s, mine, fake({ kind: 5, created_at: 1_700_000_100, tags: [["e", mine.id]] }));
    await put(
      s,
      fake({ kind: 5, pubkey: PK.b, created_at: 1_700_000_200, tags: [["e", mine.id]] }),
    );
    const again = await s.event(mine);
    assertEquals(again.verdict[0], false);
    assert(again.verdict[1].startsWith("blocked:"), again.verdict[1]);
    assertEquals(await s.count([{ ids: [mine.id] }]), 0);
  });

  test("NIP-09: a deletion naming 150 events is applied, not refused", async (s) => {
    const notes = Array.from(
      { length: 150 },
      (_, i) => fake({ kind: 1, created_at: 1_700_000_000 + i }),
    );
    await put(s, ...notes);
    const del = fake({ kind: 5, created_at: 1_700_001_000, tags: notes.map((n) => ["e", n.id]) });
    const r = await s.event(del);
    assertEquals(r.verdict, [true, ""]);
    assertEquals(await s.count([{ kinds: [1] }]), 0);
  });

  test("NIP-09: deleting a deletion has no effect", async (s) => {
    const note = fake({ kind: 1 });
    const del = fake({ kind: 5, tags: [["e", note.id]] });
    await put(s, note, del);
    await put(s, fake({ kind: 5, tags: [["e", del.id]] }));
    assertEquals(await s.count([{ kinds: [5] }]), 2);
    assertEquals(await s.count([{ ids: [note.id] }]), 0);
    // The first deletion was not undone either: the note stays refused.
    assertEquals((await s.event(note)).verdict[0], false);
  });

  test("NIP-09: a deletion naming a deletion that arrives later does not block it", async (s) => {
    const note = fake({ kind: 1 });
    const del = fake({ kind: 5, tags: [["e", note.id]] });
    // Out of order, as rebroadcasts arrive: the deletion of the deletion comes first.
    await put(s, note, fake({ kind: 5, tags: [["e", del.id]] }), del);
    assertEquals(await s.count([{ ids: [note.id] }]), 0, "the first deletion took effect");
  });

  test("NIP-09: e values that are no event id are stored as is and break nothing", async (s) => {
    const note = fake({ kind: 1 });
    await put(s, note);
    const odd = ["nothex", "abc", "a".repeat(63), "A".repeat(64), note.id + "00"];
    const del = fake({ kind: 5, tags: [...odd.map((v) => ["e", v]), ["e", ""]] });
    // Sent together with an ordinary event, as a busy relay would batch them.
    const other = fake({ kind: 1, content: "bystander" });
    const [a, b] = await Promise.all([s.event(del), s.event(other)]);
    assertEquals([a.verdict, b.verdict], [[true, ""], [true, ""]]);
    assertEquals(await s.count([{ ids: [note.id, del.id, other.id] }]), 3);
  });

  test("NIP-09: a deletion removes versions up to its created_at", async (s) => {
    const v1 = fake({ kind: 30023, created_at: 100, tags: [["d", "doc"]] });
    const keep = fake({ kind: 30023, created_at: 100, tags: [["d", "other"]] });
    const prof = fake({ kind: 0, created_at: 100 });
    await put(s, v1, keep, prof);
    await put(
      s,
      fake({
        kind: 5,
        created_at: 150,
        tags: [["a", `30023:${PK.a}:doc`], ["a", `0:${PK.a}:`], ["a", `30023:${PK.b}:doc`]],
      }),
    );
    assertEquals(ids(await s.query([{ kinds: [0, 30023] }])), [keep.id]);
    // Versions up to the deletion's created_at are refused; later ones are accepted.
    for (const created_at of [120, 150]) {
      const r = await s.event(fake({ kind: 30023, created_at, tags: [["d", "doc"]] }));
      assertEquals(r.verdict[0], false, `created_at ${created_at}`);
      assert(r.verdict[1].startsWith("blocked:"), r.verdict[1]);
    }
    const v3 = fake({ kind: 30023, created_at: 151, tags: [["d", "doc"]] });
    await put(s, v3);
    assertEquals(ids(await s.query([{ "#d": ["doc"] }])), [v3.id]);
    assertEquals((await s.event(fake({ kind: 0, created_at: 140 }))).verdict[0], false);
  });

  test("NIP-09: a deletion older than the current version leaves it", async (s) => {
    const cur = fake({ kind: 30023, created_at: 200, tags: [["d", "doc"]] });
    await put(s, cur);
    await put(s, fake({ kind: 5, created_at: 150, tags: [["a", `30023:${PK.a}:doc`]] }));
    assertEquals(ids(await s.query([{ kinds: [30023] }])), [cur.id]);
  });

  test("NIP-09: another author cannot delete by a", async (s) => {
    const v = fake({ kind: 30023, created_at: 100, tags: [["d", "doc"]] });
    await put(s, v);
    await put(
      s,
      fake({ kind: 5, pubkey: PK.b, created_at: 150, tags: [["a", `30023:${PK.a}:doc`]] }),
    );
    assertEquals(ids(await s.query([{ kinds: [30023] }])), [v.id]);
  });

  test("NIP-40: expired events are never served", async (s) => {
    const t = now();
    const gone = fake({ created_at: t - 10, tags: [["expiration", String(t - 1)]] });
    const live = fake({ created_at: t - 10, tags: [["expiration", String(t + 3600)]] });
    const plain = fake({ created_at: t - 20 });
    await put(s, gone, live, plain);
    assertEquals(ids(await s.query([{}])), [live.id, plain.id]);
    assertEquals(ids(await s.query([{ ids: [gone.id, live.id] }])), [live.id]);
    assertEquals(await s.count([{}]), 2);
    assertEquals(await s.count([{ ids: [gone.id] }]), 0);
  }, nip40);

  test(
    "NIP-40: an expiration millennia away is stored, with the events written beside it",
    async (s) => {
      const far = fake({ tags: [["expiration", "999999999999999"]] });
      const next = fake({
        created_at: far.created_at - 1,
        tags: [["expiration", "99999999999999"]],
      });
      const plain = fake({ created_at: far.created_at - 2 });
      // Written together, as one batch where the store batches.
      const results = await Promise.all([far, next, plain].map((ev) => s.event(ev)));
      assertEquals(results.map((r) => r.verdict), Array(3).fill([true, ""]));
      assertEquals(ids(await s.query([{}])), [far.id, next.id, plain.id]);
      assertEquals(await s.count([{ ids: [far.id, next.id] }]), 2);
    },
    nip40,
  );

  test("NIP-40: an expired replaceable version gives way to an older one", async (s) => {
    const t = now();
    await put(s, fake({ kind: 0, created_at: t, tags: [["expiration", String(t - 1)]] }));
    const older = fake({ kind: 0, created_at: t - 100 });
    await put(s, older);
    assertEquals(ids(await s.query([{ kinds: [0] }])), [older.id]);
  }, nip40);

  test("the retention function is consulted with the receipt time", async (s) => {
    await put(s, fake({ kind: 5001 }), fake({ kind: 1 }), fake({ kind: 5002, tags: [["t", "x"]] }));
    assertEquals(ids(await s.query([{ kinds: [5001, 5002] }])), []);
    assertEquals(await s.count([{ "#t": ["x"] }]), 0);
    assertEquals(await s.count([{}]), 1);
  }, (ev, receivedAt) => {
    assert(Math.abs(receivedAt - now()) <= 2, `receivedAt ${receivedAt}`);
    return ev.kind >= 5000 && ev.kind <= 7000 ? receivedAt - 1 : undefined;
  });
}
