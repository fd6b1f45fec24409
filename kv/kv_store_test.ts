import { assert, assertEquals } from "@std/assert";
import { KvStore } from "./kv_store.ts";
import { checkStore, consistent } from "./check_store.ts";
import { fake, PK, withKvStore } from "./store_contract.ts";
import { bytesToHex } from "@noble/hashes/utils.js";

const longTags = (n: number, len: number, v: string) =>
  Array.from({ length: n }, (_, i) => ["t", `${v}${i}`.padEnd(len, "x")]);

Deno.test("KvStore: any addressable event it accepts can later be replaced", async () => {
  await withKvStore(async (store) => {
    for (const [n, len] of [[300, 200], [300, 100], [200, 150], [100, 200]] as const) {
      const d = `${n}x${len}`;
      const v1 = fake({ kind: 30078, created_at: 100, tags: [["d", d], ...longTags(n, len, "a")] });
      const r1 = await store.event(v1);
      if (!r1.verdict[0]) {
        assert(r1.verdict[1].startsWith("invalid:"), r1.verdict[1]);
        continue;
      }
      const v2 = fake({ kind: 30078, created_at: 200, tags: [["d", d], ...longTags(n, len, "b")] });
      assertEquals((await store.event(v2)).verdict, [true, ""], d);
      assertEquals((await store.query([{ "#d": [d] }])).map((e) => e.id), [v2.id]);
    }
  });
});

Deno.test("KvStore: a d tag or deleted address too long for a KV key is refused invalid:, alone", async () => {
  await withKvStore(async (store) => {
    const long = "d".repeat(2000);
    const addressable = fake({ kind: 30023, tags: [["d", long]] });
    const deletion = fake({ kind: 5, tags: [["a", `30023:${PK.a}:${long}`]] });
    const fits = fake({ kind: 30023, created_at: 99, tags: [["d", "d".repeat(1900)]] });
    const plain = fake({ created_at: 98 });
    // Written together: the refusals must not fail the batch they share.
    const rs = await Promise.all([addressable, deletion, fits, plain].map((ev) => store.event(ev)));
    for (const r of rs.slice(0, 2)) {
      assertEquals(r.verdict[0], false);
      assert(r.verdict[1].startsWith("invalid:"), r.verdict[1]);
    }
    assertEquals(rs.slice(2).map((r) => r.verdict), [[true, ""], [true, ""]]);
    assertEquals((await store.query([{}])).map((e) => e.id), [fits.id, plain.id]);
  });
});

Deno.test("KvStore: a regular event with the most tags a message can carry is stored or refused invalid:", async () => {
  await withKvStore(async (store) => {
    const ev = fake({ tags: longTags(300, 200, "a") });
    const r = await store.event(ev);
    assert(r.verdict[0] || r.verdict[1].startsWith("invalid:"), r.verdict[1]);
    const small = fake({ tags: longTags(300, 20, "a") });
    assertEquals((await store.event(small)).verdict, [true, ""]);
    assertEquals(await store.count([{ "#t": [small.tags[299]![1]!] }]), 1);
  });
});

Deno.test("KvStore: the first writes of several handles on a new file all succeed", async () => {
  // Every deno serve --parallel worker opens a new KV file at once; SQLite then answers the first
  // commits with "database is locked", which must be retried rather than refused as error:.
  for (let round = 0; round < 5; round++) {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/kv.sqlite`;
    const stores = (await Promise.all([Deno.openKv(path), Deno.openKv(path), Deno.openKv(path)]))
      .map((kv) => new KvStore(kv));
    try {
      const results = await Promise.all(stores.map((s) => s.event(fake({}))));
      assertEquals(results.map((r) => r.verdict), [[true, ""], [true, ""], [true, ""]]);
    } finally {
      for (const s of stores) await s.close();
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("KvStore: deleting a current version by id or remove() leaves no dangling pointer", async () => {
  await withKvStore(async (store, kv) => {
    const profile = fake({ kind: 0 });
    const list = fake({ kind: 30000, tags: [["d", "x"]] });
    await store.event(profile);
    await store.event(list);
    await store.event(fake({ kind: 5, created_at: 1_700_000_100, tags: [["e", profile.id]] }));
    assertEquals(await store.remove([{ ids: [list.id] }]), 1);
    const report = await checkStore(kv);
    assert(consistent(report), JSON.stringify(report));
  });
});

Deno.test("KvStore: keys full of zero bytes (escaped twice as long) do not fail a whole batch", async () => {
  await withKvStore(async (store) => {
    await store.event(fake({}));
    const zeroish = (n: number) =>
      fake({
        tags: Array.from(
          { length: 300 },
          (_, i) => ["e", i.toString(16).padStart(8, "0").padEnd(64, "0") + String(n).slice(0, 0)],
        ),
      });
    const heavy = [zeroish(1), zeroish(2)];
    const honest = Array.from({ length: 25 }, () => fake({}));
    const results = await Promise.all([...heavy, ...honest].map((e) => store.event(e)));
    for (const r of results.slice(2)) assertEquals(r.verdict, [true, ""]);
    for (const r of results.slice(0, 2)) {
      assert(r.verdict[0] || r.verdict[1].startsWith("invalid:"), r.verdict[1]);
    }
  });
});

Deno.test("KvStore: a deletion of many events that each carry many tags is applied", async () => {
  await withKvStore(async (store, kv) => {
    const heavy = Array.from(
      { length: 60 },
      (_, i) => fake({ created_at: 1_700_000_000 + i, tags: longTags(120, 20, `v${i}-`) }),
    );
    for (const ev of heavy) assertEquals((await store.event(ev)).verdict, [true, ""]);
    const del = fake({ kind: 5, created_at: 1_700_001_000, tags: heavy.map((e) => ["e", e.id]) });
    assertEquals((await store.event(del)).verdict, [true, ""]);
    assertEquals(await store.count([{ kinds: [1] }]), 0);
    assert(consistent(await checkStore(kv)));
  });
});

Deno.test("KvStore: a store that did not write them still answers duplicates and deleted ids", async () => {
  // A fresh store has no memory of ids, so it first plans new regular events without reading;
  // the atomic's absence checks must send duplicates and deleted ids back to the reading plan.
  const dir = await Deno.makeTempDir({ prefix: "nexus-unread-" });
  const path = `${dir}/s.sqlite`;
  const kept = fake({ kind: 1, content: "kept" });
  const gone = fake({ kind: 1, content: "gone" });
  const writer = new KvStore(await Deno.openKv(path));
  try {
    assertEquals((await writer.event(kept)).verdict, [true, ""]);
    assertEquals((await writer.event(gone)).verdict, [true, ""]);
    const del = fake({ kind: 5, pubkey: gone.pubkey, tags: [["e", gone.id]] });
    assertEquals((await writer.event(del)).verdict, [true, ""]);
  } finally {
    await writer.close();
  }
  const other = new KvStore(await Deno.openKv(path));
  try {
    const fresh = fake({ kind: 1, content: "fresh" });
    // All three in one batch: the two refusals must not cost the new event its place.
    const [a, b, c] = await Promise.all([other.event(kept), other.event(gone), other.event(fresh)]);
    assert(a.verdict[0] && a.verdict[1].startsWith("duplicate:"), a.verdict[1]);
    assertEquals(a.stored, false);
    assert(!b.verdict[0] && b.verdict[1].startsWith("blocked:"), b.verdict[1]);
    assertEquals(c, { ...c, verdict: [true, ""], stored: true });
    assertEquals(
      (await other.query([{ kinds: [1] }])).map((e) => e.id).sort(),
      [kept.id, fresh.id].sort(),
    );
    assert(consistent(await checkStore(other.kv)));
  } finally {
    await other.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvStore: a write whose reads fail fails alone, not the writes batched with it", async () => {
  const real = await Deno.openKv(":memory:");
  const poison = PK.c;
  const poisoned = (keys: Deno.KvKey[]) =>
    keys.some((k) => k.some((p) => p instanceof Uint8Array && bytesToHex(p) === poison));
  // Reads of anything keyed by the poisoned pubkey fail (its profile's pointer), as a KV error
  // for one key would; everything else reads as usual.
  const kv = new Proxy(real, {
    get(target, prop) {
      if (prop === "getMany") {
        return (keys: Deno.KvKey[]) =>
          poisoned(keys) ? Promise.reject(new Error("read failed")) : target.getMany(keys);
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const store = new KvStore(kv);
  try {
    // Profiles are planned by reading their pointers. The first write takes the committer, so
    // the two profiles queue behind it and are planned as one batch.
    const [first, bad, good] = await Promise.all([
      store.event(fake({ kind: 1 })),
      store.event(fake({ kind: 0, pubkey: poison })),
      store.event(fake({ kind: 0, pubkey: PK.b })),
    ]);
    assertEquals(bad.verdict[0], false);
    assert(bad.verdict[1].startsWith("error:"), bad.verdict[1]);
    assertEquals([first.verdict, good.verdict], [[true, ""], [true, ""]]);
    assertEquals(await store.count([{ kinds: [0] }]), 1);
  } finally {
    await store.close();
  }
});

Deno.test("KvStore: a large deletion racing its targets on another writer removes every one of them", async () => {
  // A deletion naming more targets than one atomic may check commits checking only the first; a
  // target another writer stored between its reads and its commit must not survive it, and the
  // deletion must not be refused when the targets it reads change between its plans.
  const dir = await Deno.makeTempDir({ prefix: "nexus-delrace-" });
  const path = `${dir}/s.sqlite`;
  const a = new KvStore(await Deno.openKv(path));
  const b = new KvStore(await Deno.openKv(path));
  try {
    for (let trial = 0; trial < 12; trial++) {
      const targets = Array.from({ length: 150 }, (_, i) => fake({ content: `${trial}:${i}` }));
      const del = fake({
        kind: 5,
        created_at: 1_700_000_100,
        tags: targets.map((t) => ["e", t.id]),
      });
      // Odd trials race only the targets past the ones a relaxed plan checks.
      const racing = trial % 2 ? targets.slice(60) : targets;
      const [d, ...rs] = await Promise.all([
        a.event(del),
        ...racing.map((t, i) => new Promise((r) => setTimeout(r, i % 6)).then(() => b.event(t))),
      ]);
      assertEquals(d!.verdict, [true, ""], `trial ${trial}`);
      const left = await a.query([{ ids: targets.map((t) => t.id) }]);
      assertEquals(left.length, 0, `trial ${trial}: ${left.length} deleted targets still stored`);
      // Each target was either refused as deleted or stored and then removed by the deletion.
      for (const r of rs as Awaited<ReturnType<KvStore["event"]>>[]) {
        assert(r.verdict[0] || r.verdict[1].startsWith("blocked:"), r.verdict[1]);
      }
    }
    assert(consistent(await checkStore(a.kv)));
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvStore: the same addressable event stored at once by two writers is stored once, the other a duplicate", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nexus-duprace-" });
  const path = `${dir}/s.sqlite`;
  const writers = await Promise.all(
    [0, 1, 2].map(async () => new KvStore(await Deno.openKv(path))),
  );
  try {
    let twice = 0;
    for (let trial = 0; trial < 150; trial++) {
      const ev = fake({ kind: 30023, created_at: 1_700_000_000 + trial, tags: [["d", "x"]] });
      // Each writer also takes an unrelated addressable event, so batches read as the busy ones do.
      const rs = await Promise.all(writers.flatMap((w, i) => [
        w.event(ev),
        w.event(fake({ kind: 30001, tags: [["d", `${trial}:${i}`]] })),
      ]));
      const plain = rs.filter((r, i) => i % 2 === 0 && r.verdict[0] && r.verdict[1] === "");
      if (plain.length !== 1) twice++;
    }
    assertEquals(twice, 0, "trials where a copy was OK'd as new more than once");
    assert(consistent(await checkStore(writers[0]!.kv)));
  } finally {
    for (const w of writers) await w.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KvStore: waiting writes are committed in turns between sources, each in its own order", async () => {
  await withKvStore(async (store) => {
    const flooder = {};
    const honest = {};
    const flood = Array.from({ length: 300 }, (_, i) => fake({ created_at: 1_000 + i }));
    const mine = fake({ created_at: 5_000 });
    // All handed in at once, the honest one last: the first commit is already under way.
    const floodDone = flood.map((ev) => store.event(ev, { source: flooder }));
    const mineDone = store.event(mine, { source: honest });
    const seqs = (await Promise.all(floodDone)).map((r) => r.seq!);
    const mineSeq = (await mineDone).seq!;
    assert(seqs.every((s, i) => i === 0 || s >= seqs[i - 1]!), "the flood stays in its order");
    assertEquals(mineSeq, seqs[1], "in the flood's second commit, not behind all of it");
    assert(seqs.at(-1)! > mineSeq + 3, `the flood took ${seqs.at(-1)! - seqs[0]!} more commits`);
  });
});
