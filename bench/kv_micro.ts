/**
 * Two Deno KV costs that shaped the store, measured alone on a temporary file: a 100-entry reverse
 * `list` under three key layouts (does packing the key help?), and a point `get` one at a time and
 * 16 at once (what the hot-events proof adds to a REQ). Run `deno run -A bench/kv_micro.ts`.
 */
const dir = await Deno.makeTempDir({ prefix: "nexus-kv-micro-" });
const kv = await Deno.openKv(`${dir}/kv.sqlite`);
const value = new Uint8Array(600).fill(65);
for (let i = 0; i < 20_000; i += 100) {
  const atomic = kv.atomic();
  for (let j = i; j < i + 100; j++) {
    const id = crypto.getRandomValues(new Uint8Array(32));
    const packed = new Uint8Array(40);
    new DataView(packed.buffer).setFloat64(0, j);
    packed.set(id, 8);
    atomic.set(["A", j, id], value).set(["B", packed], value).set(
      [Uint8Array.of(99, ...packed)],
      value,
    );
  }
  await atomic.commit();
}
await kv.atomic().sum(["fb"], 1n).commit();

/** Wall time per operation; `ops` operations happen in each call of `fn`. */
async function timed(name: string, calls: number, fn: () => Promise<unknown>, ops = 1) {
  for (let i = 0; i < calls / 10; i++) await fn(); // warm up
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await fn();
  console.log(`${name}: ${((performance.now() - t0) / (calls * ops) * 1000).toFixed(1)} us`);
}
const list = (sel: Deno.KvListSelector) => async () => {
  for await (const _ of kv.list(sel, { reverse: true, limit: 100, batchSize: 100 }));
};
await timed('list 100, key ["c", number, id32]', 2000, list({ prefix: ["A"] }));
await timed('list 100, key ["c", bytes40]', 2000, list({ prefix: ["B"] }));
await timed(
  "list 100, key [bytes41]",
  2000,
  list({ start: [Uint8Array.of(99)], end: [Uint8Array.of(100)] }),
);
await timed("get, one at a time", 20_000, () => kv.get(["fb"]));
await timed(
  "get, 16 at once (per get)",
  1250,
  () => Promise.all(Array.from({ length: 16 }, () => kv.get(["fb"]))),
  16,
);
kv.close();
await Deno.remove(dir, { recursive: true });
