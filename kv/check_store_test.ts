import { assert, assertEquals } from "@std/assert";
import { finalizeEvent, generateSecretKey } from "nostr-tools";
import { checkStore, consistent } from "./check_store.ts";
import { idBytes, indexKeys, P } from "./keys.ts";
import { KvStore } from "./kv_store.ts";
import type { NostrEvent } from "../nostr/types.ts";

const sk = generateSecretKey();
const sign = (content: string, tags: string[][] = []) =>
  finalizeEvent({ kind: 1, tags, content, created_at: 1_700_000_000 }, sk) as NostrEvent;

Deno.test("checkStore passes a store written by KvStore and finds each kind of damage", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new KvStore(kv);
  const [a, b, c] = [sign("a", [["t", "x"]]), sign("b"), sign("c", [["p", "ab".repeat(32)]])];
  for (const ev of [a, b, c]) assertEquals((await store.event(ev)).verdict[0], true);
  const clean = await checkStore(kv);
  assertEquals(clean.events, 3);
  assert(consistent(clean), JSON.stringify(clean));

  await kv.delete([P.event, idBytes(a.id)]); // a's index keys now dangle
  await kv.delete(indexKeys(b)[1]!); // b misses one index key
  const stray = [...indexKeys(c)[0]!];
  stray[stray.length - 2] = 1; // an index entry of c under the wrong created_at
  await kv.set(stray, { x: 0 });
  const r = await checkStore(kv);
  assertEquals(r.danglingIndex.length, indexKeys(a).length);
  assertEquals(r.missingIndex.length, 1);
  assertEquals(r.strayIndex.length, 1);
  assert(!consistent(r));
  kv.close();
});

Deno.test("checkStore reports an event whose JSON-holding created index entry is gone", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = new KvStore(kv);
  const d = sign("d");
  assertEquals((await store.event(d)).verdict[0], true);
  await kv.delete(indexKeys(d)[0]!); // the created index entry, the only copy of d's JSON read by id
  const r = await checkStore(kv);
  assertEquals(r.badEvents, [d.id]);
  assertEquals(await store.query([{ ids: [d.id] }]), []);
  kv.close();
});
