/**
 * What waiting for the next turn of the event loop costs, the ways Deno offers it: why the relay
 * hands batches on with `setImmediate` (kv/next_turn.ts). Run `deno run -A bench/timers.ts`.
 */
import { setImmediate } from "node:timers";

async function timed(name: string, wait: () => Promise<unknown>) {
  const n = 500;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await wait();
  console.log(`${name}: ${((performance.now() - t0) / n * 1000).toFixed(1)} us a wait`);
}

await timed("setTimeout(fn, 0)", () => new Promise((r) => setTimeout(r, 0)));
await timed("setImmediate(fn)", () => new Promise((r) => setImmediate(r)));
const ch = new MessageChannel();
await timed("MessageChannel", () =>
  new Promise((r) => {
    ch.port1.onmessage = r;
    ch.port2.postMessage(0);
  }));
ch.port1.close();
