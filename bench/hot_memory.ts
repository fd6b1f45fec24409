/**
 * What the hot-events window costs, in-process: ingest rate and heap retained after a full GC, for
 * one store with and without a window. Run `deno run -A --v8-flags=--expose-gc
 * bench/hot_memory.ts <hotEvents> [events]` (hotEvents 0: no window). Events carry 200 characters
 * of content and two unique 64-hex tag references, about 560 bytes of JSON.
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import { KvStore } from "../kv/kv_store.ts";
import { fake } from "../kv/store_contract.ts";

const hot = Number(Deno.args[0] ?? 100_000);
const n = Number(Deno.args[1] ?? 150_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const hex = () => bytesToHex(crypto.getRandomValues(new Uint8Array(32)));

const dir = await Deno.makeTempDir({ prefix: "nexus-hot-memory-" });
const store = new KvStore(await Deno.openKv(`${dir}/kv.sqlite`), { hotEvents: hot });
await store.hot?.start();
const authors = Array.from({ length: 50 }, hex);
gc();
const heap0 = Deno.memoryUsage().heapUsed;
const t0 = performance.now();
for (let i = 0; i < n; i += 100) {
  await Promise.all(Array.from({ length: 100 }, (_, j) =>
    store.event(fake({
      created_at: 1_700_000_000 + i + j,
      pubkey: authors[(i + j) % authors.length],
      content: "x".repeat(200),
      tags: [["p", hex()], ["e", hex()]],
    }))));
}
const secs = (performance.now() - t0) / 1000;
gc();
const heap = Deno.memoryUsage().heapUsed - heap0;
const held = store.hot?.size ?? 0;
console.log(
  `window ${hot}, ${n} events: ${Math.round(n / secs)} events/s, ${held} held, heap +${
    (heap / 2 ** 20).toFixed(0)
  } MiB${held ? ` (${(heap / held / 1024).toFixed(1)} KiB an event held)` : ""}, rss ${
    (Deno.memoryUsage().rss / 2 ** 20).toFixed(0)
  } MiB`,
);
await store.close();
await Deno.remove(dir, { recursive: true });
