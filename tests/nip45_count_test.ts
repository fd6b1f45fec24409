import { assert, assertEquals } from "@std/assert";
import { Agent, Client, withRelay } from "./helpers.ts";

Deno.test("NIP-45: COUNT counts distinct matches across filters, ignoring limit", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const [a, b] = [new Agent(), new Agent()];
    for (let i = 0; i < 3; i++) await c.publish(a.sign({ content: `${i}`, tags: [["t", "x"]] }));
    await c.publish(b.sign({ kind: 7 }));
    assertEquals(await c.count("1", {}), 4);
    assertEquals(await c.count("2", { authors: [a.pubkey] }), 3);
    assertEquals(await c.count("3", { authors: [a.pubkey] }, { "#t": ["x"] }, { kinds: [7] }), 4);
    assertEquals(await c.count("4", { kinds: [7], limit: 0 }), 1);
    assertEquals(await c.count("5", { kinds: [9] }), 0);
    assert(String(await c.count("6", { kinds: ["x"] } as never)).startsWith("invalid:"));
    await c.close();
  });
});

Deno.test("NIP-45: a refused COUNT that reuses a live REQ's id ends that subscription, as its CLOSED says", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    await c.req("a", { authors: [a.pubkey] });
    await c.req("b", { authors: [a.pubkey] });
    const refused = await c.count("a", { bogus: 1 } as never);
    assert(String(refused).startsWith("invalid:"), String(refused));
    const ev = a.sign({ content: "after the CLOSED" });
    assertEquals((await c.publish(ev))[2], true);
    // "b" gets it; "a" was closed and gets nothing.
    assertEquals((await c.nextEvent("b")).id, ev.id);
    await new Promise((res) => setTimeout(res, 100));
    assertEquals(c.inbox.filter((m) => Array.isArray(m) && m[0] === "EVENT" && m[1] === "a"), []);
    await c.close();
  });
});

Deno.test("NIP-45: a recipient counts a DM another p tag of it matches, as its REQ returns it", async () => {
  await withRelay({}, async (r) => {
    const [author, named, reader, stranger] = [new Agent(), new Agent(), new Agent(), new Agent()];
    const pub = await Client.connect(r.url);
    for (const kind of [4, 1059]) {
      const ev = author.sign({ kind, tags: [["p", named.pubkey], ["p", reader.pubkey]] });
      assertEquals((await pub.publish(ev))[2], true);
    }
    const filter = { kinds: [4, 1059], "#p": [named.pubkey] };
    const counts: number[] = [];
    for (const who of [reader, named, author, stranger]) {
      const c = await Client.connect(r.url);
      await c.auth(who);
      const count = await c.count("n", filter) as number;
      assertEquals(count, (await c.req("q", filter)).events.length);
      counts.push(count);
      await c.close();
    }
    assertEquals(counts, [2, 2, 2, 0]);
    await pub.close();
  });
});
