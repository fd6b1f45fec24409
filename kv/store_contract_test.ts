import { KvStore } from "./kv_store.ts";
import { MemoryStore } from "./memory_store.ts";
import { storeContract } from "./store_contract.ts";

storeContract("MemoryStore", (opts) => Promise.resolve({ store: new MemoryStore(opts) }));

storeContract("KvStore(:memory:)", async (opts) => ({
  store: new KvStore(await Deno.openKv(":memory:"), opts),
}));

storeContract("KvStore(file)", async (opts) => {
  const dir = await Deno.makeTempDir({ prefix: "nexus-contract-" });
  return {
    store: new KvStore(await Deno.openKv(`${dir}/kv.sqlite`), opts),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});

// The same contract with the newest events held in memory: a window far larger than any test
// (every answer from memory once proven current) and one of 5 events (eviction, and answers that
// reach below the window falling back to KV).
for (const hotEvents of [10_000, 5]) {
  storeContract(`KvStore(hot ${hotEvents})`, async (opts) => {
    const store = new KvStore(await Deno.openKv(":memory:"), { ...opts, hotEvents });
    await store.hot!.start();
    return { store };
  });
}
