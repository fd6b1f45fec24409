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

Deno.test("hot events: a COUNT is answered from a partial window only within it, with no read wasted", async () => {
  const stored: NostrEvent[] = [];
  await withTwo(30, async (_a, b) => {
    const count = (f: Filter) => stored.filter((e) => matchFilter(f, e)).length;
    const newest = stored[99]!.created_at;
    const reads = b.hot!.proofReads, hits = b.hot!.countHits;
    // No `since`: the window cannot know what lies below it, so no proof read is spent on it.
    for (const f of [{ kinds: [1] }, { authors: [PK.c] }, { ids: [stored[0]!.id] }]) {
      assertEquals(await b.count([f]), count(f));
    }
    assertEquals(b.hot!.proofReads, reads);
    // Within the window: answered from memory, exactly.
    for (const f of [{ since: newest - 5 }, { ids: [stored[99]!.id] }, { since: 5, until: 4 }]) {
      assertEquals(await b.count([f]), count(f));
    }
    assertEquals(b.hot!.countHits - hits, 3);
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

/** A KV handle whose commits can be made to answer late or throw, as a remote KV's may. */
function flakyCommits(kv: Deno.Kv, ctl: { delayMs: number; fail: number }): Deno.Kv {
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = async () => {
            if (ctl.fail > 0) {
              ctl.fail--;
              throw new Error("connection reset (outcome unknown)");
            }
            const r = await commit();
            await new Promise((res) => setTimeout(res, ctl.delayMs));
            return r;
          };
          return op;
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as Deno.Kv;
}

/** Like withTwo, but `b` writes through flakyCommits. */
async function withFlaky(
  fn: (
    a: KvStore,
    b: KvStore,
    ctl: { delayMs: number; fail: number },
    kv: Deno.Kv,
  ) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "nexus-hot-" });
  const ctl = { delayMs: 0, fail: 0 };
  const a = new KvStore(await Deno.openKv(`${dir}/kv.sqlite`));
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  const b = new KvStore(flakyCommits(await Deno.openKv(`${dir}/kv.sqlite`), ctl), {
    hotEvents: 1000,
  });
  try {
    await b.hot!.start();
    await fn(a, b, ctl, kv);
  } finally {
    await b.close();
    await a.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("hot events: an own commit acknowledged after the feed brought it does not undo a later removal", async () => {
  await withFlaky(async (a, b, ctl) => {
    ctl.delayMs = 300;
    const x = fake({ created_at: 1_700_000_000 });
    const pending = b.event(x); // committed at once, acknowledged 300 ms later
    await new Promise((r) => setTimeout(r, 100));
    await b.hot!.poll(); // the feed brings x first
    await a.event(fake({ kind: 5, created_at: 1_700_000_001, tags: [["e", x.id]] }));
    await b.hot!.poll();
    assertEquals(await b.query([{ ids: [x.id] }]), []);
    await pending;
    const hits = b.hot!.hits;
    assertEquals(await b.query([{ ids: [x.id] }]), []);
    assertEquals(b.hot!.hits, hits + 1, "answered from memory");
  });
});

Deno.test("hot events: a commit that failed with its outcome unknown does not make a stale window look current", async () => {
  await withFlaky(async (a, b, ctl) => {
    ctl.fail = 1;
    assertEquals((await b.event(fake({ created_at: 1_700_000_000 }))).verdict[0], false);
    await b.event(fake({ created_at: 1_700_000_001 })); // numbered after the failed one
    const fromA = fake({ created_at: 1_700_000_002 });
    await a.event(fromA);
    assert(ids(await b.query([{ kinds: [1] }])).includes(fromA.id), "read-your-writes");
    // And the window gets back in step (here by loading again) instead of staying behind.
    let hits = 0;
    for (let i = 0; i < 100 && hits === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      await b.hot!.poll();
      const before = b.hot!.hits;
      assert(ids(await b.query([{ kinds: [1] }])).includes(fromA.id));
      hits = b.hot!.hits - before;
    }
    assertEquals(hits, 1, "answering from memory again");
  });
});

Deno.test("hot events: a window loaded after its own writer's head expired counts nothing twice", async () => {
  await withFlaky(async (a, b, _ctl, kv) => {
    await b.event(fake({ created_at: 1_700_000_000 }));
    await kv.delete([P.feedHead, b.writerId]); // as after 24 h without a write from b
    // Make b load again: a's entries vanish unread.
    await a.event(fake({ created_at: 1_700_000_001 }));
    for await (const e of kv.list({ prefix: [P.feed, a.writerId] })) await kv.delete(e.key);
    await b.hot!.poll();
    for (let i = 0; i < 100 && b.hot!.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await b.event(fake({ created_at: 1_700_000_002 }));
    const fromA = fake({ created_at: 1_700_000_003 });
    await a.event(fromA);
    assert(ids(await b.query([{ kinds: [1] }])).includes(fromA.id), "read-your-writes");
  });
});

Deno.test("hot events: a feed entry in the earlier format (no removals) stops answers from memory", async () => {
  await withTwo(1000, async (a, b, kv) => {
    const note = fake({ created_at: 1_700_000_000 });
    await a.event(note);
    // What an earlier build wrote: a bare array of JSON, one added to ["fb"] per commit.
    const legacy = fake({ created_at: 1_700_000_001 });
    await kv.atomic()
      .set([P.feed, "0ldwriter", 1], [new TextEncoder().encode(JSON.stringify(legacy))])
      .set([P.feedHead, "0ldwriter"], 1)
      .sum([P.feedBump], 1n)
      .commit();
    await b.hot!.poll();
    const hits = b.hot!.hits;
    await b.query([{ kinds: [1] }]);
    assertEquals(b.hot!.hits, hits, "that writer's removals would be invisible");
  });
});

Deno.test("hot events: removals remembered for ordering are let go without any query", async () => {
  await withTwo(1000, async (a, b) => {
    for (let i = 0; i < 20; i++) {
      const ev = fake({ created_at: 1_700_000_000 + i });
      await a.event(ev);
      await a.event(fake({ kind: 5, created_at: 1_700_000_100, tags: [["e", ev.id]] }));
    }
    await b.hot!.poll();
    assertEquals(b.hot!.removals, 20);
    // The background round (every second) proves the window current and settles.
    for (let i = 0; i < 100 && b.hot!.removals > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals(b.hot!.removals, 0);
  });
});

Deno.test("hot events: a proof read before the window was loaded again does not vouch for the new one", async () => {
  // The ["fb"] read of a query answers late; meanwhile the window loads again, and that load is
  // torn by a replacement committed during it. Its base could then match the stale read.
  const ctl = {
    holdFb: false,
    release: undefined as undefined | (() => void),
    onLoadEntry: undefined as undefined | ((n: number) => Promise<void>),
    failHeads: 0,
  };
  const proxied = (kv: Deno.Kv) =>
    new Proxy(kv, {
      get(target, prop) {
        if (prop === "get") {
          return async (key: Deno.KvKey) => {
            const r = await target.get(key);
            if (key[0] === P.feedBump && ctl.holdFb) {
              ctl.holdFb = false;
              await new Promise<void>((res) => ctl.release = res);
            }
            return r;
          };
        }
        if (prop === "list") {
          return (sel: { prefix?: Deno.KvKey }, o?: Deno.KvListOptions) => {
            if (sel.prefix?.[0] === P.feedHead && ctl.failHeads > 0) {
              ctl.failHeads--;
              return {
                [Symbol.asyncIterator]: () => ({
                  next: () => Promise.reject(new Error("transient read failure")),
                }),
              };
            }
            const hook = ctl.onLoadEntry;
            if (sel.prefix?.[0] === P.created && hook) {
              ctl.onLoadEntry = undefined;
              const it = target.list(sel as Deno.KvListSelector, { ...o, batchSize: 1 });
              return (async function* () {
                let n = 0;
                for await (const e of it) {
                  yield e;
                  await hook(++n);
                }
              })();
            }
            return target.list(sel as Deno.KvListSelector, o);
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    }) as Deno.Kv;
  const dir = await Deno.makeTempDir({ prefix: "nexus-hot-" });
  const a = new KvStore(await Deno.openKv(`${dir}/kv.sqlite`));
  const raw = await Deno.openKv(`${dir}/kv.sqlite`);
  const b = new KvStore(proxied(await Deno.openKv(`${dir}/kv.sqlite`)), { hotEvents: 1000 });
  try {
    await a.event(fake({ kind: 0, created_at: 1_700_000_000, content: "v1" }));
    for (let i = 1; i <= 5; i++) await a.event(fake({ created_at: 1_700_000_000 + i }));
    await b.hot!.start();
    await b.hot!.poll();
    await a.event(fake({ created_at: 1_700_000_010 }));
    for await (const e of raw.list({ prefix: [P.feed, a.writerId] })) await raw.delete(e.key);
    ctl.holdFb = true;
    const f = { kinds: [0], authors: [PK.a] };
    const pending = b.query([f]);
    ctl.onLoadEntry = async (n) => {
      if (n !== 2) return;
      await a.event(fake({ kind: 0, created_at: 1_800_000_000, content: "v2" }));
      ctl.failHeads = 1;
    };
    await b.hot!.poll(); // finds the gap: loads again
    for (let i = 0; i < 200 && b.hot!.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    ctl.release!();
    assertEquals((await pending).length, 1, "the author had a profile at every moment");
  } finally {
    await b.close();
    await a.close();
    raw.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A KV file with a plain store writing to it, for tests that open their own readers on the same
 * file (closed by the test before this returns).
 */
async function withFile(fn: (path: string, writer: KvStore) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "nexus-hot-file-" });
  const writer = new KvStore(await Deno.openKv(`${dir}/kv.sqlite`));
  try {
    await fn(`${dir}/kv.sqlite`, writer);
  } finally {
    await writer.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A real KV handle whose `get` and `list` calls go through the given wrappers. */
function hooked(
  real: Deno.Kv,
  hooks: {
    get?: (key: Deno.KvKey, read: () => Promise<Deno.KvEntryMaybe<unknown>>) => Promise<unknown>;
    list?: (sel: Deno.KvListSelector, read: () => Deno.KvListIterator<unknown>) => unknown;
  },
): Deno.Kv {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "get" && hooks.get) {
        return (key: Deno.KvKey) => hooks.get!(key, () => target.get(key));
      }
      if (prop === "list" && hooks.list) {
        return (sel: Deno.KvListSelector, o?: Deno.KvListOptions) =>
          hooks.list!(sel, () => target.list(sel, o));
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** True for the scan below the window: the only list with an end in the created index. */
const isBelowScan = (sel: Deno.KvListSelector) => "end" in sel && sel.end[0] === P.created;

Deno.test("hot events: a REQ or COUNT that arrives while a proof read is pending waits for a later one", async () => {
  // One ["fb"] read is taken before a commit on another handle and delivered after its OK: a
  // query asked after that OK must not be vouched for by it.
  await withFile(async (path, writer) => {
    const ctl = { hold: false, release: undefined as undefined | (() => void) };
    const kv = hooked(await Deno.openKv(path), {
      get: async (key, read) => {
        const r = await read(); // the snapshot is taken now, only delivered late
        if (key[0] === P.feedBump && ctl.hold) {
          ctl.hold = false;
          await new Promise<void>((res) => ctl.release = res);
        }
        return r;
      },
    });
    const reader = new KvStore(kv, { hotEvents: 1000, feedPollMs: 3_600_000 });
    try {
      await writer.event(fake({ kind: 1, created_at: 1_700_000_000 }));
      await reader.hot!.start();
      await reader.hot!.poll();
      ctl.hold = true;
      const first = reader.query([{ kinds: [1] }]);
      while (!ctl.release) await new Promise((r) => setTimeout(r, 1));
      const ev = fake({ kind: 1, created_at: 1_700_000_001 });
      assert((await writer.event(ev)).stored);
      const req = reader.query([{ ids: [ev.id] }]);
      const count = reader.count([{ kinds: [1] }]);
      ctl.release();
      assertEquals((await first).length, 1);
      assertEquals((await req).map((e) => e.id), [ev.id]);
      assertEquals(await count, 2);
    } finally {
      await reader.close();
    }
  });
});

/** Wait until the window knows the keys of every event below it. */
async function belowKnown(s: KvStore): Promise<void> {
  for (let i = 0; i < 400 && !s.hot!.belowKnown; i++) await new Promise((r) => setTimeout(r, 5));
  assert(s.hot!.belowKnown, "the scan below the window finished");
}

Deno.test("hot events: a filter no event below the window can match is answered from the window", async () => {
  const stored: NostrEvent[] = [];
  const tagged = (i: number) => ["t", `v${i}`];
  await withTwo(30, async (a, b) => {
    await belowKnown(b);
    const check = async (f: Filter, from: "memory" | "kv") => {
      const [hits, below] = [b.hot!.hits, b.hot!.answeredByBelow];
      assertEquals(ids(await b.query([f])), expected(stored, f), JSON.stringify(f));
      assertEquals(await b.count([f]), expected(stored, { ...f, limit: undefined }).length);
      assertEquals(b.hot!.hits - hits, from === "memory" ? 1 : 0, `${JSON.stringify(f)} ${from}`);
      if (from === "memory") assertEquals(b.hot!.answeredByBelow - below, 2); // REQ and COUNT
    };
    const newest = stored[99]!;
    await check({ "#t": [`v99`], limit: 10 }, "memory"); // held, and nothing below has it
    await check({ "#t": ["nobody"] }, "memory");
    await check({ authors: [PK.b] }, "memory");
    await check({ "#t": ["v3"] }, "kv"); // below the window: the filter says it may be there
    await check({ "#t": ["v3", "nobody"] }, "kv");
    await check({ "#t": ["nobody"], authors: [PK.a] }, "memory"); // one absent condition is enough
    // Stored below the window by another handle: a KV answer, then a key the filter knows.
    const old = fake({ created_at: 1_600_000_000, tags: [["t", "late"]] });
    assert((await a.event(old)).stored);
    stored.push(old);
    await check({ "#t": ["late"] }, "kv");
    await b.hot!.poll();
    await check({ "#t": ["late"] }, "kv");
    // Let go by eviction: their keys join the filter as they leave.
    for (let i = 0; i < 30; i++) {
      const ev = fake({ created_at: newest.created_at + 1 + i, tags: [tagged(100 + i)] });
      await a.event(ev);
      stored.push(ev);
    }
    await b.hot!.poll();
    await check({ "#t": ["v99"] }, "kv");
    await check({ "#t": ["v129"], limit: 1 }, "memory");
  }, async (a) => {
    for (let i = 0; i < 100; i++) {
      const ev = fake({ created_at: 1_700_000_000 + i, tags: [tagged(i)] });
      await a.event(ev);
      stored.push(ev);
    }
  });
});

Deno.test("hot events: an event stored below the window while the scan below it runs is not missed", async () => {
  await withFile(async (path, writer) => {
    const gate = { hold: false, reached: () => {}, go: () => {} };
    const reached = new Promise<void>((r) => gate.reached = r);
    const resume = new Promise<void>((r) => gate.go = r);
    const kv = hooked(await Deno.openKv(path), {
      list: (sel, read) => {
        const it = read();
        if (!isBelowScan(sel) || !gate.hold) return it;
        gate.hold = false;
        // Pause the scan after its first entry.
        return (async function* () {
          let first = true;
          for await (const e of it) {
            yield e;
            if (first) {
              first = false;
              gate.reached();
              await resume;
            }
          }
        })();
      },
    });
    let reader: KvStore | undefined;
    try {
      for (let i = 0; i < 40; i++) {
        await writer.event(fake({ created_at: 1_700_000_000 + i, tags: [["t", `v${i}`]] }));
      }
      gate.hold = true;
      // (A store starts loading its window when it is made: after the writes, so it is full.)
      reader = new KvStore(kv, { hotEvents: 10, feedPollMs: 3_600_000 });
      await reader.hot!.start();
      await reached;
      // The scan has passed the oldest keys; this one sorts before all of them.
      const old = fake({ created_at: 1_600_000_000, tags: [["t", "during"]] });
      assert((await writer.event(old)).stored);
      await reader.hot!.poll();
      gate.go();
      await belowKnown(reader);
      // The filter is in use: a value nothing carries is answered from memory ...
      const below = reader.hot!.answeredByBelow;
      assertEquals(await reader.query([{ "#t": ["nobody"] }]), []);
      assertEquals(reader.hot!.answeredByBelow, below + 1);
      // ... and the one stored during the scan is known to it, so KV answers.
      assertEquals((await reader.query([{ "#t": ["during"] }])).map((e) => e.id), [old.id]);
      assertEquals(await reader.count([{ "#t": ["during"] }]), 1);
    } finally {
      await reader?.close();
    }
  });
});

Deno.test("hot events: the keys below grow past their first size, and are not scanned past the cap", async () => {
  await withFile(async (path, writer) => {
    const stored: NostrEvent[] = [];
    const open = (opts: { hotBelowMax?: number; hotBelowCapacity?: number }) =>
      Deno.openKv(path).then((kv) => new KvStore(kv, { hotEvents: 10, ...opts }));
    const readers: KvStore[] = [];
    try {
      for (let i = 0; i < 60; i++) {
        const ev = fake({ created_at: 1_700_000_000 + i, tags: [["t", `v${i}`]] });
        await writer.event(ev);
        stored.push(ev);
      }
      // Room for 20 keys, 50 events below with three keys each: the scan starts again, bigger.
      const grown = await open({ hotBelowCapacity: 20 });
      // Below the cap of 30 events: no filter, every filter reaching below reads KV.
      const capped = await open({ hotBelowMax: 30 });
      const off = await open({ hotBelowMax: 0 });
      readers.push(grown, capped, off);
      for (const r of readers) await r.hot!.start();
      await belowKnown(grown);
      await new Promise((r) => setTimeout(r, 50));
      assert(!capped.hot!.belowKnown && !off.hot!.belowKnown);
      for (const r of readers) {
        for (const v of ["v0", "v49", "v59", "nobody"]) {
          assertEquals(ids(await r.query([{ "#t": [v] }])), expected(stored, { "#t": [v] }));
        }
      }
      assertEquals(grown.hot!.answeredByBelow, 2); // v59 (held) and "nobody"
      assertEquals(capped.hot!.answeredByBelow + off.hot!.answeredByBelow, 0);
    } finally {
      for (const r of readers) await r.close();
    }
  });
});

Deno.test("hot events: a scan below the window that fails is tried again", async () => {
  await withFile(async (path, writer) => {
    let failures = 1;
    const kv = hooked(await Deno.openKv(path), {
      list: (sel, read) =>
        isBelowScan(sel) && failures-- > 0
          ? (async function* () {
            yield* [];
            throw new Error("transient KV error");
          })()
          : read(),
    });
    let reader: KvStore | undefined;
    try {
      for (let i = 0; i < 50; i++) {
        await writer.event(fake({ created_at: 1_700_000_000 + i, tags: [["t", `v${i}`]] }));
      }
      reader = new KvStore(kv, { hotEvents: 10, feedPollMs: 20 });
      await reader.hot!.start();
      await belowKnown(reader);
      assertEquals(failures, -1, "the first scan failed, a second one ran");
      assertEquals(await reader.query([{ "#t": ["nobody"] }]), []);
      assertEquals(reader.hot!.answeredByBelow, 1);
    } finally {
      await reader?.close();
    }
  });
});
