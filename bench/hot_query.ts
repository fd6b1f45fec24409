/**
 * What a REQ answered from the hot-events window costs inside the store, proof read included:
 * `concurrency` query loops over one KvStore on a temporary KV file, no sockets, each asking for
 * 100 events by kind, by tag, or by two kinds in turn. Reports wall and CPU time per query and how
 * many queries shared each proof read, then what a COUNT of 1,000 events costs
 * with the window and without it (a second handle on the same file), and a recent job's results by
 * `#e` from a store five times its window, where only the keys below the window say nothing older
 * names the job. Run
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

// A store five times its window: jobs, each answered by a result naming it with `#e`. A client
// asks for a recent job's results; no event below the window names that job.
const jobsPath = `${dir}/jobs.sqlite`;
const writer = new KvStore(await Deno.openKv(jobsPath));
const jobs: NostrEvent[] = [];
for (let i = 0; i < 5000; i += 100) {
  await Promise.all(Array.from({ length: 100 }, (_, k) => {
    const job = finalizeEvent(
      { kind: 5050, created_at: base + i + k, tags: [], content: `job ${i + k}` },
      sk,
    ) as NostrEvent;
    jobs.push(job);
    const result = { kind: 6050, created_at: base + i + k, tags: [["e", job.id]], content: "ok" };
    return Promise.all([writer.event(job), writer.event(finalizeEvent(result, sk) as NostrEvent)]);
  }));
}
await writer.close();
const windowed = new KvStore(await Deno.openKv(jobsPath), { hotEvents: 2000 });
await windowed.hot!.start();
for (let i = 0; i < 2000 && !windowed.hot!.belowKnown; i++) {
  await new Promise((r) => setTimeout(r, 5));
}
const scanOnly = new KvStore(await Deno.openKv(jobsPath));
const recent = jobs.slice(-500);
for (const [name, s] of [["window", windowed], ["KV scan", scanOnly]] as const) {
  const hits0 = windowed.hot!.hits;
  const [t0, cpu0] = [performance.now(), await processCpuSeconds("self")];
  await Promise.all(Array.from({ length: concurrency }, async (_, k) => {
    for (let r = 0; r < 4; r++) {
      for (let i = k; i < recent.length; i += concurrency) {
        const got = await s.query([{ "#e": [recent[i]!.id], limit: 10 }]);
        if (got.length !== 1) throw new Error("missed");
      }
    }
  }));
  const n = 4 * recent.length;
  const cpu = await processCpuSeconds("self") - cpu0;
  console.log(
    `a recent job's results by #e, ${concurrency} at a time, store 5x the window (${name}): ` +
      `${((performance.now() - t0) / n * 1000).toFixed(1)} us, ${(cpu / n * 1e6).toFixed(1)} us ` +
      `of CPU a query; ${windowed.hot!.hits - hits0} of ${n} from memory`,
  );
}
await scanOnly.close();
await windowed.close();
await Deno.remove(dir, { recursive: true });
