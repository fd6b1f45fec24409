/**
 * What the scan below the hot-events window costs: a store of `n` events (unsigned, written
 * straight to the store), then a second handle with a 20,000-event window loads it and scans the
 * keys of the rest into its filter. Run `deno run -A bench/below_scan.ts [n=200000]`.
 */
import { KvStore } from "../kv/kv_store.ts";
import { fake, PK } from "../kv/store_contract.ts";
import { processCpuSeconds } from "./relay_process.ts";

const n = Number(Deno.args[0] ?? 200_000);
const dir = await Deno.makeTempDir({ prefix: "nexus-below-scan-" });
const writer = new KvStore(await Deno.openKv(`${dir}/kv.sqlite`));
const hex = () => crypto.randomUUID().replaceAll("-", "").repeat(2);
for (let i = 0; i < n; i += 500) {
  await Promise.all(Array.from({ length: 500 }, (_, k) =>
    writer.event(fake({
      created_at: 1_700_000_000 + i + k,
      pubkey: [PK.a, PK.b, PK.c][k % 3],
      kind: [1, 7][k % 2],
      tags: [["e", hex()], ["p", PK.b]],
      content: "x".repeat(200),
    }))));
}
await writer.close();
const [t0, cpu0] = [performance.now(), await processCpuSeconds("self")];
const reader = new KvStore(await Deno.openKv(`${dir}/kv.sqlite`), { hotEvents: 20_000 });
await reader.hot!.start();
const loaded = performance.now();
while (!reader.hot!.belowKnown) await new Promise((r) => setTimeout(r, 10));
const cpu = await processCpuSeconds("self") - cpu0;
console.log(
  `${n} stored, window 20,000: loaded in ${(loaded - t0).toFixed(0)} ms, keys below known ` +
    `${(performance.now() - loaded).toFixed(0)} ms later; ${cpu.toFixed(1)} s of CPU in all ` +
    `(${(cpu / (n - 20_000) * 1e6).toFixed(0)} us an event below)`,
);
await reader.close();
await Deno.remove(dir, { recursive: true });
