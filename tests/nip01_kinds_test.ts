import { assert, assertEquals } from "@std/assert";
import { Agent, Client, now, withRelay } from "./helpers.ts";

Deno.test("replaceable: only the newest is kept; an older version gets OK false invalid:", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    const t = now() - 100;
    for (const kind of [0, 3, 10002]) {
      const v1 = a.sign({ kind, created_at: t, content: "v1" });
      const v2 = a.sign({ kind, created_at: t + 10, content: "v2" });
      assertEquals((await c.publish(v1))[2], true);
      assertEquals((await c.publish(v2))[2], true);
      const old = await c.publish(a.sign({ kind, created_at: t + 5, content: "old" }));
      assertEquals(old[2], false);
      assert(old[3].startsWith("invalid:"), old[3]);
      const { events } = await c.req(`k${kind}`, { kinds: [kind], authors: [a.pubkey] });
      assertEquals(events.map((e) => e.content), ["v2"]);
    }
    await c.close();
  });
});

Deno.test("addressable: newest per d tag; equal created_at keeps the lowest id", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    const t = now() - 100;
    const x1 = a.sign({ kind: 30023, created_at: t, tags: [["d", "x"]], content: "1" });
    const x2 = a.sign({ kind: 30023, created_at: t + 1, tags: [["d", "x"]], content: "2" });
    const y = a.sign({ kind: 30023, created_at: t, tags: [["d", "y"]] });
    for (const ev of [x1, x2, y]) assertEquals((await c.publish(ev))[2], true);
    let got = (await c.req("a", { kinds: [30023] })).events.map((e) => e.id);
    assertEquals(got, [x2.id, y.id]);
    // Two versions with the same created_at: whichever has the lower id wins, in either order.
    const tie = [
      a.sign({ kind: 30023, created_at: t + 1, tags: [["d", "x"]], content: "3" }),
      a.sign({ kind: 30023, created_at: t + 1, tags: [["d", "x"]], content: "4" }),
    ];
    for (const ev of tie) await c.publish(ev);
    const lowest = [x2, ...tie].map((e) => e.id).sort()[0]!;
    got = (await c.req("b", { kinds: [30023], "#d": ["x"] })).events.map((e) => e.id);
    assertEquals(got, [lowest]);
    await c.close();
  });
});

Deno.test("ephemeral: delivered live to subscribers, acknowledged, never stored", async () => {
  await withRelay({}, async (r) => {
    const [pub, sub] = [await Client.connect(r.url), await Client.connect(r.url)];
    const a = new Agent();
    await sub.req("live", { kinds: [20001, 29999] });
    for (const kind of [20001, 29999]) {
      const ev = a.sign({ kind, content: "now" });
      assertEquals(await pub.publish(ev), ["OK", ev.id, true, ""]);
      assertEquals((await sub.nextEvent("live")).id, ev.id);
    }
    assertEquals((await pub.req("later", { kinds: [20001, 29999] })).events, []);
    assertEquals(await pub.count("n", {}), 0);
    // A copy is relayed to no one, so it is answered and counted as a duplicate.
    const once = a.sign({ kind: 20001, content: "once" });
    assertEquals(await pub.publish(once), ["OK", once.id, true, ""]);
    assertEquals(await pub.publish(once), [
      "OK",
      once.id,
      true,
      "duplicate: already have this event",
    ]);
    assertEquals((await sub.nextEvent("live")).id, once.id);
    const marker = a.sign({ kind: 20001, content: "after" });
    await pub.publish(marker);
    assertEquals((await sub.nextEvent("live")).id, marker.id, "the copy was not sent again");
    const events = (await (await fetch(`${r.http}/api/stats`)).json()).events;
    assertEquals([events.ephemeral_total, events.duplicate_total], [4, 1]);
    await pub.close();
    await sub.close();
  });
});
