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
