import { assert, assertEquals, assertMatch } from "@std/assert";
import { Agent, Client, now, withRelay } from "./helpers.ts";

const isInvalid = (ok: unknown[]) => ok[2] === false && String(ok[3]).startsWith("invalid:");

Deno.test("EVENT: a valid event gets OK true, a resend OK true with duplicate:", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const ev = new Agent().sign({ content: "hello" });
    assertEquals(await c.publish(ev), ["OK", ev.id, true, ""]);
    const dup = await c.publish(ev);
    assertEquals(dup[2], true);
    assert(dup[3].startsWith("duplicate:"), dup[3]);
    assertEquals((await c.req("s", { ids: [ev.id] })).events, [JSON.parse(JSON.stringify(ev))]);
    await c.close();
  });
});

Deno.test("EVENT: malformed events get OK false with invalid:", async () => {
  await withRelay({ NEXUS_MAX_EVENT_TAGS: "5", NEXUS_MAX_CONTENT_LENGTH: "20" }, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    const good = () => JSON.parse(JSON.stringify(a.sign({ content: "x", tags: [["t", "x"]] })));
    const cases: Array<[string, Record<string, unknown>]> = [
      ["bad id", { ...good(), id: "f".repeat(64) }],
      ["bad sig", { ...good(), sig: "0".repeat(128) }],
      ["sig of another event", { ...good(), sig: a.sign({ content: "y" }).sig }],
      ["content changed after signing", { ...good(), content: "changed" }],
      ["kind as string", { ...good(), kind: "1" }],
      ["kind above 65535", { ...good(), kind: 65536 }],
      ["negative kind", { ...good(), kind: -1 }],
      ["created_at not an integer", { ...good(), created_at: 1.5 }],
      ["created_at as string", { ...good(), created_at: String(now()) }],
      ["tags not an array", { ...good(), tags: "t" }],
      ["tag not an array", { ...good(), tags: ["t"] }],
      ["tag with a number", { ...good(), tags: [["t", 1]] }],
      ["content not a string", { ...good(), content: 5 }],
      ["content too long", { ...good(), content: "x".repeat(21) }],
      ["too many tags", { ...good(), tags: [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]] }],
      ["pubkey upper-case", { ...good(), pubkey: good().pubkey.toUpperCase() }],
      ["missing sig", { ...good(), sig: undefined }],
    ];
    for (const [name, ev] of cases) {
      c.send(["EVENT", ev]);
      const ok = await c.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === ev.id);
      assert(isInvalid(ok), `${name}: ${JSON.stringify(ok)}`);
    }
    // Refusals for created_at and reserved kinds.
    assert(isInvalid(await c.publish(a.sign({ created_at: now() + 3600 }))), "far future");
    assert(isInvalid(await c.publish(a.sign({ kind: 22242 }))), "22242 only with AUTH");
    assertEquals((await c.publish(a.sign({ kind: 65535 })))[2], true, "65535 is a valid kind");
    assertEquals(await c.count("n", {}), 1, "nothing malformed was stored");
    await c.close();
  });
});

Deno.test("EVENT on verification threads: a pipelined stream gets each answer right, in order", async () => {
  await withRelay({ NEXUS_VERIFY_THREADS: "2" }, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    await new Promise((res) => setTimeout(res, 500)); // the threads start with the relay
    const sent: Array<{ id: string; good: boolean }> = [];
    for (let i = 0; i < 300; i++) {
      const ev = a.sign({ content: `e${i}` });
      const good = i % 5 !== 2;
      c.send(["EVENT", good ? ev : { ...ev, sig: a.sign({ content: "other" }).sig }]);
      sent.push({ id: ev.id, good });
      if (i % 50 === 0) await new Promise((res) => setTimeout(res, 1)); // several batches
    }
    // An event and its deletion, back to back: the deletion must be stored after the event.
    const doomed = a.sign({ content: "doomed" });
    const deletion = a.sign({ kind: 5, tags: [["e", doomed.id]] });
    c.send(["EVENT", doomed]);
    c.send(["EVENT", deletion]);
    for (const { id, good } of sent) {
      const ok = await c.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === id);
      if (good) assertEquals(ok, ["OK", id, true, ""]);
      else assert(isInvalid(ok), JSON.stringify(ok));
    }
    for (const id of [doomed.id, deletion.id]) {
      const ok = await c.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === id);
      assertEquals(ok, ["OK", id, true, ""]);
    }
    assertEquals((await c.req("d", { ids: [doomed.id] })).events, []);
    assertEquals(await c.count("n", { kinds: [1] }), 240);
    await c.close();
  });
});

Deno.test("EVENT: an event without an id to answer gets a NOTICE", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    c.send(["EVENT", "not an object"]);
    const n = await c.take((m) => Array.isArray(m) && m[0] === "NOTICE");
    assert(String(n[1]).startsWith("invalid:"), String(n[1]));
    c.send(["EVENT"]);
    await c.take((m) => Array.isArray(m) && m[0] === "NOTICE");
    await c.close();
  });
});

Deno.test("protocol: bad JSON, unknown verbs and binary frames get a NOTICE; the socket stays usable", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    for (const bad of ["{not json", '{"a":1}', "[]", "[1,2]", '["FOO", 1]', '"EVENT"']) {
      c.send(bad);
      const n = await c.take((m) => Array.isArray(m) && m[0] === "NOTICE");
      assert(String(n[1]).startsWith("invalid:"), `${bad}: ${n[1]}`);
    }
    c.ws.send(new Uint8Array([1, 2, 3]));
    await c.take((m) => Array.isArray(m) && m[0] === "NOTICE");
    const ev = new Agent().sign({});
    assertEquals((await c.publish(ev))[2], true);
    assertEquals(c.ws.readyState, WebSocket.OPEN);
    await c.close();
  });
});

Deno.test("protocol: a plain-text ping gets a plain-text pong", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    c.send("ping");
    assertEquals(await c.take((m) => m === "pong"), "pong" as unknown as unknown[]);
    assertEquals(c.received("NOTICE"), []);
    await c.close();
  });
});

Deno.test("protocol: an oversize message is refused before parsing; the socket stays usable", async () => {
  await withRelay({ NEXUS_MAX_MESSAGE_LENGTH: "2000" }, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    const big = a.sign({ content: "x".repeat(2100) });
    const ok = await c.publish(big);
    assert(isInvalid(ok), JSON.stringify(ok));
    // Multi-byte characters count as bytes, not UTF-16 units.
    const wide = a.sign({ content: "\u20ac".repeat(700) });
    assert(JSON.stringify(["EVENT", wide]).length < 2000);
    assert(isInvalid(await c.publish(wide)));
    // nostr-tools writes the id after the content, and a message may open with whitespace: the
    // OK must still name the event, however far from the start its id sits.
    const late = a.sign({ content: "x".repeat(70_000) });
    const { id, sig, ...rest } = late;
    c.send(` [ "EVENT", ${JSON.stringify({ ...rest, id, sig })}]`);
    const lateOk = await c.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === late.id);
    assert(isInvalid(lateOk as [string, string, boolean, string]), JSON.stringify(lateOk));
    c.send(["REQ", "s", { "#t": ["y".repeat(2100)] }]);
    const n = await c.take((m) => Array.isArray(m) && m[0] === "NOTICE");
    assert(String(n[1]).startsWith("invalid:"));
    assertEquals((await c.publish(a.sign({ content: "small" })))[2], true);
    assertEquals(await c.count("n", {}), 1);
    await c.close();
  });
});

Deno.test("protocol: a message that is not JSON still gets the OK or CLOSED its client waits for", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    const ev = a.sign({ content: "line\nbreak" });
    // A raw line break inside a string is not JSON (RFC 8259), as some hand-rolled serialisers send.
    const raw = JSON.stringify(["EVENT", ev]).replace("\\n", "\n");
    // The NOTICE issue 2 asks for comes first (a client may take the next frame for it), then the
    // answer NIP-01 asks for, naming what was refused.
    const isAnswer = (m: unknown) => Array.isArray(m) && m[0] !== "EOSE";
    const frames = async (n: number) => {
      await c.until(() => c.inbox.filter(isAnswer).length >= n);
      return c.inbox.splice(0).filter(isAnswer) as unknown[][];
    };
    c.send(raw);
    const [notice, ok] = await frames(2);
    assertEquals(notice![0], "NOTICE");
    assertMatch(String(notice![1]), /^invalid: .*JSON/);
    assertEquals(ok!.slice(0, 3), ["OK", ev.id, false]);
    assert(isInvalid(ok as [string, string, boolean, string]), JSON.stringify(ok));
    c.send('["REQ","broken",{"kinds":[1,]}]');
    const [notice2, closed] = await frames(2);
    assertEquals(notice2![0], "NOTICE");
    assertEquals(closed!.slice(0, 2), ["CLOSED", "broken"]);
    assertMatch(String(closed![2]), /^invalid: .*JSON/);
    // An AUTH is answered too, but its refusal is no refused event.
    const auth = a.sign({ kind: 22242, tags: [["challenge", c.challenge]] });
    c.send(JSON.stringify(["AUTH", auth]) + "x");
    const [, authOk] = await frames(2);
    assertEquals(authOk!.slice(0, 3), ["OK", auth.id, false]);
    c.send("{not json");
    const [alone] = await frames(1);
    assertEquals(alone![0], "NOTICE");
    const events = (await (await fetch(`${r.http}/api/stats`)).json()).events;
    // Received and refused: the broken EVENT; refused: the broken REQ too.
    assertEquals([events.received_total, events.refused_total], [1, 2]);
    assertEquals((await c.publish(a.sign({ content: "fine" })))[2], true);
    await c.close();
  });
});

Deno.test("EVENT: every one of many pipelined events gets exactly one OK", async () => {
  await withRelay({}, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    const evs = Array.from({ length: 60 }, (_, i) => a.sign({ content: `n${i}` }));
    for (const ev of evs) c.send(["EVENT", ev]);
    c.send(["EVENT", evs[0]!]);
    await c.until(() => c.received("OK").length === 61);
    const oks = c.received("OK");
    assertEquals(new Set(oks.map((m) => m[1])).size, 60);
    assertEquals(oks.filter((m) => m[2] === true).length, 61);
    assertEquals(await c.count("n", { authors: [a.pubkey] }), 60);
    await c.close();
  });
});
