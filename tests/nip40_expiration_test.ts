import { assert, assertEquals } from "@std/assert";
import { Agent, Client, now, withRelay } from "./helpers.ts";

Deno.test("NIP-40: an already-expired event is refused with invalid:", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const ok = await c.publish(new Agent().sign({ tags: [["expiration", String(now() - 1)]] }));
    assertEquals(ok[2], false);
    assert(ok[3].startsWith("invalid:"), ok[3]);
    assertEquals(await c.count("n", {}), 0);
    await c.close();
  });
});

Deno.test("NIP-40: an expired event is not served, even before the store purges it", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    // Two seconds ahead: with one, a publish that crosses a second boundary meets an event that
    // has already expired by the first COUNT.
    const exp = now() + 2;
    const soon = a.sign({ tags: [["expiration", String(exp)]] });
    const later = a.sign({ tags: [["expiration", String(now() + 3600)]] });
    assertEquals((await c.publish(soon))[2], true);
    assertEquals((await c.publish(later))[2], true);
    assertEquals(await c.count("a", {}), 2);
    // Wait for the clock to pass the expiration (KV itself purges about a minute later).
    while (now() < exp) await new Promise((res) => setTimeout(res, 100));
    assertEquals((await c.req("q", {})).events.map((e) => e.id), [later.id]);
    assertEquals((await c.req("i", { ids: [soon.id] })).events, []);
    assertEquals(await c.count("b", {}), 1);
    await c.close();
  });
});

Deno.test("NIP-40: an event that expires on its way to a live subscriber is not sent", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    await c.req("live", { kinds: [1] });
    const a = new Agent();
    // What another isolate's BroadcastChannel batch or the change feed brings a moment after the
    // event's deadline (a slow commit, the feed's delay between processes).
    const late = a.sign({ tags: [["expiration", String(now() - 1)]] });
    const fresh = a.sign({ tags: [["expiration", String(now() + 3600)]] });
    for (const ev of [late, fresh]) r.nexus.relay.deliver(ev, JSON.stringify(ev));
    assertEquals((await c.nextEvent("live")).id, fresh.id);
    await c.close();
  });
});
