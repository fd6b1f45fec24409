import { assert, assertEquals } from "@std/assert";
import { checkStore, consistent } from "./check_store.ts";
import { decodeEntry, encodeEntry, encodeInCreated } from "./entry.ts";
import { idBytes, indexKeys, legacyIndexKeys, P } from "./keys.ts";
import { fake, withKvStore } from "./store_contract.ts";

const json = new TextEncoder().encode('{"id":"x"}');

Deno.test("entry: expiry and JSON survive a round trip in every combination", () => {
  for (const x of [0, 1_700_000_000, 4_102_444_800]) {
    for (const j of [undefined, json]) {
      const back = decodeEntry(encodeEntry(x, j));
      assertEquals(back.x, x);
      assertEquals(back.j && [...back.j], j && [...j]);
    }
  }
});

Deno.test("entry: an id entry that leaves the JSON to the created index names its created_at", () => {
  for (const x of [0, 1_700_000_000]) {
    assertEquals(decodeEntry(encodeInCreated(x, 1_699_999_999)), { x, c: 1_699_999_999 });
  }
});

Deno.test("entry: a small event's JSON is kept in its index entries only; a large one's by id", async () => {
  await withKvStore(async (store, kv) => {
    const small = fake({ kind: 1, content: "small" });
    const large = fake({ kind: 1, content: "x".repeat(5000) });
    for (const ev of [small, large]) assertEquals((await store.event(ev)).verdict, [true, ""]);
    const idEntry = async (id: string) =>
      decodeEntry((await kv.get<Uint8Array>([P.event, idBytes(id)])).value);
    assertEquals((await idEntry(small.id)).j, undefined);
    assertEquals((await idEntry(small.id)).c, small.created_at);
    assertEquals((await idEntry(large.id)).j?.length, JSON.stringify(large).length);
    const byId = await store.query([{ ids: [small.id, large.id] }]);
    assertEquals(byId.map((e) => e.id).sort(), [small.id, large.id].sort());
    assertEquals((await store.event(small)).verdict[1].startsWith("duplicate:"), true);
    assertEquals(await store.remove([{ ids: [small.id] }]), 1);
    assertEquals(await store.count([{ kinds: [1] }]), 1);
    assert(consistent(await checkStore(kv)));
  });
});

Deno.test("entry: a store written as {x, j} objects by an earlier version is still served", async () => {
  await withKvStore(async (store, kv) => {
    const ev = fake({ kind: 1, tags: [["t", "legacy"]] });
    const j = new TextEncoder().encode(JSON.stringify(ev));
    const at = kv.atomic().set([P.event, idBytes(ev.id)], { x: 0, j });
    for (const k of indexKeys(ev)) at.set(k, { x: 0, j });
    await at.commit();
    assertEquals((await store.query([{ "#t": ["legacy"] }])).map((e) => e.id), [ev.id]);
    assertEquals((await store.query([{ ids: [ev.id] }])).map((e) => e.id), [ev.id]);
    // Writing a duplicate reads the legacy entry; deleting removes it.
    assertEquals((await store.event(ev)).verdict[1].startsWith("duplicate:"), true);
    assertEquals(await store.remove([{ ids: [ev.id] }]), 1);
    assertEquals(await store.count([{ "#t": ["legacy"] }]), 0);
  });
});

Deno.test("entry: author+kind keys an earlier version wrote for regular events pass the check and go with their event", async () => {
  await withKvStore(async (store, kv) => {
    const ev = fake({ kind: 1, content: "old layout" });
    const j = new TextEncoder().encode(JSON.stringify(ev));
    const at = kv.atomic().set([P.event, idBytes(ev.id)], { x: 0, j });
    for (const k of [...indexKeys(ev), ...legacyIndexKeys(ev)]) at.set(k, { x: 0, j });
    await at.commit();
    assert(consistent(await checkStore(kv)), "a legacy key is not stray");
    const del = fake({ kind: 5, pubkey: ev.pubkey, tags: [["e", ev.id]] });
    assertEquals((await store.event(del)).verdict, [true, ""]);
    const report = await checkStore(kv);
    assert(consistent(report), JSON.stringify(report));
    assertEquals((await Array.fromAsync(kv.list({ prefix: [P.authorKind] }))).length, 0);
  });
});
