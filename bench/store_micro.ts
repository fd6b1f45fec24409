/**
 * @module In-process micro-benchmark of the Deno KV store alone (no sockets, no verification):
 * group-commit ingest and single-filter queries over 10,000 pre-signed events on a temporary file.
 *
 *   deno run -A bench/store_micro.ts
 */
import process from "node:process";
import { initNostrWasm } from "nostr-wasm";
import { generateSecretKey, getPublicKey } from "nostr-tools";
import { KvStore } from "../kv/kv_store.ts";
import type { Filter, NostrEvent } from "../nostr/types.ts";

const nw = await initNostrWasm();
const keys = Array.from({ length: 50 }, () => generateSecretKey());
const pubs = keys.map((k) => getPublicKey(k));
const now = Math.floor(Date.now() / 1000);
const events: NostrEvent[] = Array.from({ length: 10_000 }, (_, i) => {
  const ev = {
    kind: [1, 7, 1111, 30][i % 4]!,
    tags: [["p", pubs[(i * 7) % 50]!], ["e", "ab".repeat(32)]],
    content: `bench ${i}`,
    created_at: now - 3600 + i,
  } as unknown as NostrEvent;
  nw.finalizeEvent(ev as never, keys[i % 50]!);
  return ev;
});

const dir = await Deno.makeTempDir({ prefix: "nexus-micro-" });
const store = new KvStore(await Deno.openKv(`${dir}/micro.sqlite`));
let t = performance.now();
for (let i = 0; i < events.length; i += 100) {
  await Promise.all(events.slice(i, i + 100).map((e) => store.event(e)));
}
console.log(
  `ingest, 100 writes in flight: ${
    Math.round(events.length / ((performance.now() - t) / 1000))
  } events/s`,
);

const queries: Array<[string, Filter]> = [
  ["by author, limit 100", { authors: [pubs[3]!], limit: 100 }],
  ["by kind, limit 100", { kinds: [1], limit: 100 }],
  ["by #p, limit 100", { "#p": [pubs[5]!], limit: 100 }],
  ["kind + since, limit 50", { kinds: [1], since: now - 1000, limit: 50 }],
  ["two authors, limit 100", { authors: [pubs[3]!, pubs[4]!], limit: 100 }],
  ["ten ids", { ids: events.slice(5000, 5010).map((e) => e.id) }],
];
for (const [name, f] of queries) {
  for (let i = 0; i < 50; i++) await store.query([f]); // warm up
  t = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < 300; i++) await store.query([f]);
  const used = process.cpuUsage(cpu);
  console.log(
    `query ${name}: ${((performance.now() - t) / 300).toFixed(2)} ms, ` +
      `${((used.user + used.system) / 300 / 1000).toFixed(2)} ms of CPU (all threads)`,
  );
}
await store.close();
await Deno.remove(dir, { recursive: true });
