import { assert, assertEquals } from "@std/assert";
import { Agent, Client, withRelay } from "./helpers.ts";

Deno.test("subscriptions: ids of 1 to 64 characters", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    assertEquals((await c.req("x".repeat(64), {})).closed, undefined);
    assertEquals((await c.req("y", {})).closed, undefined);
    assert((await c.req("z".repeat(65), {})).closed?.startsWith("invalid:"));
    // NIP-01 counts characters: 64 emoji (128 UTF-16 units) are a valid id, 65 are not.
    assertEquals((await c.req("\u{1F600}".repeat(64), {})).closed, undefined);
    assert((await c.req("\u{1F600}".repeat(65), {})).closed?.startsWith("invalid:"));
    assert((await c.req("", {})).closed?.startsWith("invalid:"));
    c.send(["REQ", 5, {}]);
    await c.take((m) => Array.isArray(m) && m[0] === "NOTICE");
    await c.close();
  });
});

Deno.test("subscriptions: live delivery after EOSE to every matching subscription, once each", async () => {
  await withRelay({}, async (r) => {
    const [c1, c2] = [await Client.connect(r.url), await Client.connect(r.url)];
    const a = new Agent();
    await c1.req("byAuthor", { authors: [a.pubkey] });
    await c1.req("byTag", { "#t": ["x"] }, { kinds: [1] }); // two matching filters, one delivery
    await c1.req("other", { kinds: [7] });
    await c2.req("all", {});
    const ev = a.sign({ kind: 1, tags: [["t", "x"]] });
    await c2.publish(ev);
    assertEquals((await c1.nextEvent("byAuthor")).id, ev.id);
    assertEquals((await c1.nextEvent("byTag")).id, ev.id);
    assertEquals((await c2.nextEvent("all")).id, ev.id);
    await c1.sync();
    assertEquals(c1.received("EVENT"), [], "no second copy, nothing to the non-matching sub");
    // A refused or duplicate event is not delivered again.
    await c2.publish(ev);
    await c1.sync();
    assertEquals(c1.received("EVENT"), []);
    await c1.close();
    await c2.close();
  });
});

Deno.test("subscriptions: REQ with an existing id replaces it; CLOSE ends it", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    await c.req("s", { kinds: [1] });
    await c.req("s", { kinds: [7] });
    await c.req("gone", { kinds: [1, 7] });
    c.send(["CLOSE", "gone"]);
    c.send(["CLOSE", "never-opened"]); // harmless
    const one = a.sign({ kind: 1 });
    const seven = a.sign({ kind: 7 });
    await c.publish(one);
    await c.publish(seven);
    assertEquals((await c.nextEvent("s")).id, seven.id);
    await c.sync();
    assertEquals(c.received("EVENT"), [], "old filter and closed sub get nothing");
    assertEquals(c.received("NOTICE"), []);
    await c.close();
  });
});

Deno.test("subscriptions: at most NEXUS_MAX_SUBSCRIPTIONS; all freed when the socket closes", async () => {
  await withRelay({ NEXUS_MAX_SUBSCRIPTIONS: "3" }, async (r) => {
    const c = await Client.connect(r.url);
    for (const id of ["a", "b", "c"]) assertEquals((await c.req(id, {})).closed, undefined);
    const refused = await c.req("d", {});
    assert(refused.closed, "a fourth subscription is refused");
    assertEquals((await c.req("a", { kinds: [1] })).closed, undefined, "replacing is allowed");
    c.send(["CLOSE", "a"]);
    assertEquals((await c.req("d", {})).closed, undefined, "closing frees a slot");
    assertEquals(r.nexus.relay.subs.size, 3);
    await c.close();
    // The server sees the close a moment after the client: poll, with a deadline.
    for (let i = 0; i < 200 && r.nexus.relay.connections.size > 0; i++) {
      await new Promise((res) => setTimeout(res, 10));
    }
    assertEquals(r.nexus.relay.connections.size, 0);
    assertEquals(r.nexus.relay.subs.size, 0);
  });
});

Deno.test("subscriptions: events published while a REQ is answering arrive exactly once", async () => {
  await withRelay({}, async (r) => {
    const [pub, sub] = [await Client.connect(r.url), await Client.connect(r.url)];
    const a = new Agent();
    const before = Array.from({ length: 200 }, (_, i) => a.sign({ content: `b${i}` }));
    for (const ev of before) pub.send(["EVENT", ev]);
    await pub.until(() => pub.received("OK").length === before.length);
    const during = Array.from({ length: 100 }, (_, i) => a.sign({ content: `d${i}` }));
    sub.send(["REQ", "s", { authors: [a.pubkey], limit: 5000 }]);
    for (const ev of during) pub.send(["EVENT", ev]);
    await pub.until(() => pub.received("OK").length === before.length + during.length);
    await sub.sync();
    const msgs = sub.inbox.filter((m) => Array.isArray(m) && m[1] === "s");
    const eose = msgs.findIndex((m) => (m as unknown[])[0] === "EOSE");
    assert(eose >= 0, "EOSE sent");
    const got = msgs.filter((m) => (m as unknown[])[0] === "EVENT").map((m) =>
      ((m as unknown[])[2] as { id: string }).id
    );
    assertEquals(got.length, new Set(got).size, "no event twice");
    assertEquals(new Set(got), new Set([...before, ...during].map((e) => e.id)));
    await pub.close();
    await sub.close();
  });
});

Deno.test("a refused REQ that reuses a live subscription id ends that subscription", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    await c.req("s", { authors: [a.pubkey] });
    const refused = await c.req("s", { kinds: [-1] });
    assert(refused.closed?.startsWith("invalid:"), refused.closed);
    await c.publish(a.sign({ content: "after the refusal" }));
    await c.sync();
    assertEquals(c.inbox.filter((m) => Array.isArray(m) && m[0] === "EVENT").length, 0);
    await c.close();
  });
});
