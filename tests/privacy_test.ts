import { assertEquals } from "@std/assert";
import { Agent, Client, withRelay } from "./helpers.ts";

Deno.test("privacy: kinds 4 and 1059 only reach their author or a p recipient", async () => {
  await withRelay({ NEXUS_AUTH: "writes" }, async (r) => {
    const [alice, bob, eve] = [new Agent(), new Agent(), new Agent()];
    const connect = () => Client.connect(r.url);
    const [ca, cb, ce, anon] = [await connect(), await connect(), await connect(), await connect()];
    await ca.auth(alice);
    await cb.auth(bob);
    await ce.auth(eve);
    for (const c of [cb, ce, anon]) await c.req("live", { kinds: [4, 1059] });
    const dm = alice.sign({ kind: 4, tags: [["p", bob.pubkey]], content: "secret" });
    const wrap = alice.sign({ kind: 1059, tags: [["p", bob.pubkey]] });
    const pub = alice.sign({ kind: 1 });
    for (const ev of [dm, wrap, pub]) assertEquals((await ca.publish(ev))[2], true);
    // Live path.
    assertEquals((await cb.nextEvent("live")).id, dm.id);
    assertEquals((await cb.nextEvent("live")).id, wrap.id);
    for (const c of [ce, anon]) {
      await c.sync();
      assertEquals(c.received("EVENT"), []);
    }
    // Stored path and COUNT.
    const ids = async (c: Client) => (await c.req("q", {})).events.map((e) => e.id).sort();
    assertEquals(await ids(ca), [dm.id, wrap.id, pub.id].sort());
    assertEquals(await ids(cb), [dm.id, wrap.id, pub.id].sort());
    assertEquals(await ids(ce), [pub.id]);
    assertEquals(await ids(anon), [pub.id]);
    assertEquals(await cb.count("n", {}), 3);
    assertEquals(await ce.count("n", {}), 1);
    assertEquals(await anon.count("n", { kinds: [4] }), 0);
    for (const c of [ca, cb, ce, anon]) await c.close();
  });
});
