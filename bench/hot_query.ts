/**
 * What a REQ answered from the hot-events window costs inside the store, proof read included:
 * `concurrency` query loops over one KvStore on a temporary KV file, no sockets. Reports wall time
 * per query and how many queries shared each proof read, then what a COUNT of 1,000 events costs
 * with the window and without it (a second handle on the same file). Run
 * `deno run -A bench/hot_query.ts [concurrency=16] [queries per loop=2000]`.
 */
import { finalizeEvent, generateSecretKey } from "nostr-tools/pure";
import { KvStore } from "../kv/kv_store.ts";
import type { NostrEvent } from "../nostr/types.ts";

const concurrency = Number(Deno.args[0] ?? 16);
const perLoop = Number(Deno.args[1] ?? 2000);
const dir = await Deno.makeTempDir({ prefix: "nexus-hot-query-" });
const kv = await Deno.openKv(`${dir}/kv.sqlite`);
const store = new KvStore(kv, { hotEvents: 10_000 });
const sk = generateSecretKey();
const base = Math.floor(Date.now() / 1000) - 3600;
await Promise.all(Array.from({ length: 2000 }, (_, i) =>
  store.event(
    finalizeEvent(
      { kind: [1, 7][i % 2]!, created_at: base + i, tags: [], content: `q ${i}` },
      sk,
    ) as NostrEvent,
  )));
await store.hot!.start();
await store.hot!.poll();

for (let round = 0; round < 3; round++) {
  const hits0 = store.hot!.hits, reads0 = store.hot!.proofReads;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = 0; i < perLoop; i++) await store.query([{ kinds: [1], limit: 50 }]);
  }));
  const n = concurrency * perLoop;
  const fromMemory = store.hot!.hits - hits0;
  const reads = store.hot!.proofReads - reads0;
  console.log(
    `${n} queries, ${concurrency} at a time: ${((performance.now() - t0) / n * 1000).toFixed(1)} ` +
      `us each, ${fromMemory} from memory, ${(n / Math.max(reads, 1)).toFixed(1)} a proof read`,
  );
}
const plain = new KvStore(await Deno.openKv(`${dir}/kv.sqlite`));
for (const [name, s] of [["window", store], ["KV scan", plain]] as const) {
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) {
    if (await s.count([{ kinds: [1] }]) !== 1000) throw new Error("wrong count");
  }
  console.log(`COUNT of 1,000 events (${name}): ${((performance.now() - t0) / 200).toFixed(2)} ms`);
}
await plain.close();
await store.close();
await Deno.remove(dir, { recursive: true });
