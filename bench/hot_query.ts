/**
 * What a REQ answered from the hot-events window costs inside the store, proof read included:
 * `concurrency` query loops over one KvStore on a temporary KV file, no sockets, each asking for
 * 100 events by kind, by tag, or by two kinds in turn. Reports wall and CPU time per query and how
 * many queries shared each proof read, then what a COUNT of 1,000 events costs
 * with the window and without it (a second handle on the same file). Run
 * `deno run -A bench/hot_query.ts [concurrency=16] [queries per loop=2000]`.
 */
import { finalizeEvent, generateSecretKey } from "nostr-tools/pure";
import { KvStore } from "../kv/kv_store.ts";
import type { NostrEvent } from "../nostr/types.ts";
import { processCpuSeconds } from "./relay_process.ts";

const concurrency = Number(Deno.args[0] ?? 16);
const perLoop = Number(Deno.args[1] ?? 2000);
const dir = await Deno.makeTempDir({ prefix: "nexus-hot-query-" });
const kv = await Deno.openKv(`${dir}/kv.sqlite`);
const store = new KvStore(kv, { hotEvents: 10_000 });
const sk = generateSecretKey();
const base = Math.floor(Date.now() / 1000) - 3600;
const p = "ab".repeat(32);
await Promise.all(Array.from({ length: 2000 }, (_, i) =>
  store.event(
    finalizeEvent(
      { kind: [1, 7][i % 2]!, created_at: base + i, tags: [["p", p]], content: `q ${i}` },
      sk,
    ) as NostrEvent,
  )));
// One list, one tag list, and two lists merged: 100 events each.
const mix = [{ kinds: [1], limit: 100 }, { "#p": [p], limit: 100 }, { kinds: [1, 7], limit: 100 }];
await store.hot!.start();
await store.hot!.poll();

for (let round = 0; round < 3; round++) {
  const hits0 = store.hot!.hits, reads0 = store.hot!.proofReads;
  const [t0, cpu0] = [performance.now(), await processCpuSeconds("self")];
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = 0; i < perLoop; i++) await store.query([mix[i % 3]!]);
  }));
  const n = concurrency * perLoop;
  const us = (x: number) => (x / n * 1e6).toFixed(1);
  const [wall, cpu] = [(performance.now() - t0) / 1000, await processCpuSeconds("self") - cpu0];
  const fromMemory = store.hot!.hits - hits0;
  const reads = store.hot!.proofReads - reads0;
  console.log(
    `${n} queries, ${concurrency} at a time: ${us(wall)} us each, ${us(cpu)} us of CPU ` +
      `(all threads), ${fromMemory} from memory, ${
        (n / Math.max(reads, 1)).toFixed(1)
      } a proof read`,
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
