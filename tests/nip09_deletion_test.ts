import { assert, assertEquals } from "@std/assert";
import { Agent, Client, now, withRelay } from "./helpers.ts";

Deno.test("NIP-09: e deletion removes the author's own events; the deletion is stored and broadcast", async () => {
  await withRelay({}, async (r) => {
    const [c, watcher] = [await Client.connect(r.url), await Client.connect(r.url)];
    const [a, b] = [new Agent(), new Agent()];
    const mine = a.sign({ content: "mine" });
    const theirs = b.sign({ content: "theirs" });
    await c.publish(mine);
    await c.publish(theirs);
    await watcher.req("del", { kinds: [5] });
    const del = a.sign({ kind: 5, tags: [["e", mine.id], ["e", theirs.id]] });
    assertEquals((await c.publish(del))[2], true);
    assertEquals((await watcher.nextEvent("del")).id, del.id);
    const left = (await c.req("q", { kinds: [1] })).events.map((e) => e.id);
    assertEquals(left, [theirs.id], "only the author's own event is deleted");
    assertEquals((await c.req("d", { kinds: [5] })).events.map((e) => e.id), [del.id]);
    // The deleted id is refused when sent again.
    const again = await c.publish(mine);
    assertEquals(again[2], false);
    assert(again[3].startsWith("blocked:"), again[3]);
    await c.close();
    await watcher.close();
  });
});

Deno.test("NIP-09: a deletion of a deletion has no effect", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    const note = a.sign({});
    const del = a.sign({ kind: 5, tags: [["e", note.id]] });
    await c.publish(note);
    await c.publish(del);
    assertEquals((await c.publish(a.sign({ kind: 5, tags: [["e", del.id]] })))[2], true);
    assertEquals(await c.count("n", { kinds: [5] }), 2);
    assertEquals(await c.count("m", { ids: [note.id] }), 0);
    assertEquals((await c.publish(note))[2], false);
    await c.close();
  });
});

Deno.test("NIP-09: a deletion removes addressable versions up to its created_at", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const [a, b] = [new Agent(), new Agent()];
    const t = now() - 100;
    const doc = a.sign({ kind: 30023, created_at: t, tags: [["d", "doc"]] });
    const other = a.sign({ kind: 30023, created_at: t, tags: [["d", "other"]] });
    const bdoc = b.sign({ kind: 30023, created_at: t, tags: [["d", "doc"]] });
    for (const ev of [doc, other, bdoc]) await c.publish(ev);
    const addr = (ag: Agent) => `30023:${ag.pubkey}:doc`;
    await c.publish(a.sign({ kind: 5, created_at: t + 10, tags: [["a", addr(a)]] }));
    await c.publish(a.sign({ kind: 5, created_at: t + 10, tags: [["a", addr(b)]] }));
    const left = (await c.req("q", { kinds: [30023] })).events.map((e) => e.id).sort();
    assertEquals(left, [other.id, bdoc.id].sort());
    const older = await c.publish(a.sign({ kind: 30023, created_at: t + 5, tags: [["d", "doc"]] }));
    assertEquals(older[2], false, "a version older than the deletion is refused");
    const newer = a.sign({ kind: 30023, created_at: t + 20, tags: [["d", "doc"]] });
    assertEquals((await c.publish(newer))[2], true, "a later version is accepted");
    assertEquals(
      (await c.req("r", { "#d": ["doc"], authors: [a.pubkey] })).events[0]?.id,
      newer.id,
    );
    await c.close();
  });
});
