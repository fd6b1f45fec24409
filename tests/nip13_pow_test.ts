import { assert, assertEquals } from "@std/assert";
import { finalizeEvent } from "nostr-tools";
import { getPow, minePow } from "nostr-tools/nip13";
import { Agent, Client, now, withRelay } from "./helpers.ts";

const NIP11 = { accept: "application/nostr+json" };

Deno.test("NIP-13: with a minimum set, an id with too few leading zero bits is refused pow:", async () => {
  await withRelay({ NEXUS_MIN_POW_DIFFICULTY: "8" }, async (r) => {
    const info = await (await fetch(r.http + "/", { headers: NIP11 })).json();
    assertEquals(info.limitation.min_pow_difficulty, 8);
    assert(info.supported_nips.includes(13));

    const a = new Agent();
    const c = await Client.connect(r.url);
    // An unmined event almost never has 8 zero bits; sign until one has fewer.
    let weak = a.sign({ content: "no work" });
    for (let i = 0; getPow(weak.id) >= 8; i++) weak = a.sign({ content: `no work ${i}` });
    const refused = await c.publish(weak);
    assertEquals(refused[2], false);
    assertEquals(refused[3], `pow: difficulty ${getPow(weak.id)} is less than 8`);

    const mined = finalizeEvent(
      minePow({ kind: 1, tags: [], content: "worked", created_at: now(), pubkey: a.pubkey }, 8),
      a.sk,
    );
    assert(getPow(mined.id) >= 8);
    assertEquals((await c.publish(mined))[2], true);
    c.send(["REQ", "q", { authors: [a.pubkey] }]);
    const got = await c.take((m) => Array.isArray(m) && m[0] === "EVENT" && m[1] === "q");
    assertEquals((got[2] as { id: string }).id, mined.id);
    const stats = await (await fetch(r.http + "/api/stats")).json();
    assertEquals(stats.refusals.pow, 1);
    c.close();
  });
});

Deno.test("NIP-13: by default no proof of work is asked, and NIP-11 says 0", async () => {
  await withRelay({}, async (r) => {
    const info = await (await fetch(r.http + "/", { headers: NIP11 })).json();
    assertEquals(info.limitation.min_pow_difficulty, 0);
    assert(!info.supported_nips.includes(13));
    const c = await Client.connect(r.url);
    let weak = new Agent().sign({ content: "no work" });
    while (getPow(weak.id) > 0) weak = new Agent().sign({ content: "no work" });
    const ok = await c.publish(weak);
    assertEquals(ok[2], true);
    c.close();
  });
});
