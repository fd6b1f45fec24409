import { assert, assertEquals, assertMatch, assertNotEquals } from "@std/assert";
import { Agent, Client, now, withRelay } from "./helpers.ts";

const authRequired = (s: unknown) => String(s).startsWith("auth-required:");

Deno.test("AUTH: a challenge is sent at once, unique per connection", async () => {
  await withRelay({ NEXUS_AUTH: "off" }, async (r) => {
    const [c1, c2] = [await Client.connect(r.url), await Client.connect(r.url)];
    assert(c1.challenge.length >= 16);
    assertNotEquals(c1.challenge, c2.challenge);
    await c1.close();
    await c2.close();
  });
});

Deno.test("AUTH: wrong kind, challenge, relay, stale created_at or bad sig get OK false", async () => {
  await withRelay({ NEXUS_AUTH: "required" }, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    const tags = (
      relay = r.url,
      challenge = c.challenge,
    ) => [["relay", relay], ["challenge", challenge]];
    const cases: Array<[string, { id: string }]> = [
      ["kind", a.sign({ kind: 1, tags: tags() })],
      ["challenge", a.sign({ kind: 22242, tags: tags(r.url, "nope") })],
      ["relay", a.sign({ kind: 22242, tags: tags("wss://elsewhere.example.com") })],
      ["port", a.sign({ kind: 22242, tags: tags("ws://127.0.0.1:1") })],
      ["stale", a.sign({ kind: 22242, tags: tags(), created_at: now() - 700 })],
      ["bad sig", { ...a.sign({ kind: 22242, tags: tags() }), sig: "0".repeat(128) }],
      ["bad id", { ...a.sign({ kind: 22242, tags: tags() }), id: "1".repeat(64) }],
    ];
    for (const [name, ev] of cases) {
      c.send(["AUTH", ev]);
      const ok = await c.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === ev.id);
      assertEquals(ok[2], false, name);
      assert(String(ok[3]).startsWith("invalid:"), `${name}: ${ok[3]}`);
    }
    // None of those authenticated the connection.
    assert(authRequired((await c.publish(a.sign({})))[3]));
    // Another connection's challenge is not ours.
    const other = await Client.connect(r.url);
    const stolen = a.sign({ kind: 22242, tags: tags(r.url, other.challenge) });
    c.send(["AUTH", stolen]);
    const ok = await c.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === stolen.id);
    assertEquals(ok[2], false);
    // The scheme does not matter; host and port do.
    assertEquals((await c.auth(a, r.url.replace("ws://", "wss://")))[2], true);
    await other.close();
    await c.close();
  });
});

Deno.test("AUTH required: EVENT gets OK auth-required:, REQ and COUNT get CLOSED auth-required:", async () => {
  await withRelay({ NEXUS_AUTH: "required" }, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    const ev = a.sign({ content: "hi" });
    const ok = await c.publish(ev);
    assertEquals(ok[2], false);
    assert(authRequired(ok[3]), ok[3]);
    // Each refusal names what was refused, so a client's log says which call to retry.
    assertMatch(String((await c.req("s", {})).closed), /^auth-required: .*subscrib/);
    assertMatch(String(await c.count("n", {})), /^auth-required: .*count/);
    const auth = await c.auth(a);
    assertEquals([auth[2], auth[3]], [true, ""]);
    assertEquals((await c.publish(ev))[2], true);
    assertEquals((await c.req("s", {})).events.map((e) => e.id), [ev.id]);
    assertEquals(await c.count("n", {}), 1);
    await c.close();
  });
});

Deno.test("AUTH writes: reads are open, EVENT needs AUTH", async () => {
  await withRelay({ NEXUS_AUTH: "writes" }, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    const ev = a.sign({});
    assert(authRequired((await c.publish(ev))[3]));
    assertEquals((await c.req("s", {})).closed, undefined);
    assertEquals(await c.count("n", {}), 0);
    await c.auth(a);
    assertEquals((await c.publish(ev))[2], true);
    await c.close();
  });
});

Deno.test("AUTH off: everything open, AUTH still works", async () => {
  await withRelay({ NEXUS_AUTH: "off" }, async (r) => {
    const c = await Client.connect(r.url);
    const a = new Agent();
    assertEquals((await c.publish(a.sign({})))[2], true);
    assertEquals((await c.req("s", {})).events.length, 1);
    assertEquals((await c.auth(a))[2], true);
    await c.close();
  });
});

Deno.test("AUTH: several pubkeys on one connection may each publish", async () => {
  await withRelay({ NEXUS_AUTH: "required" }, async (r) => {
    const c = await Client.connect(r.url);
    const [a, b, stranger] = [new Agent(), new Agent(), new Agent()];
    assertEquals((await c.auth(a))[2], true);
    assertEquals((await c.auth(b))[2], true);
    // Authenticated connections may publish events signed by anyone (NIP-42 does not restrict
    // authorship except for protected events); each identity works.
    assertEquals((await c.publish(a.sign({ tags: [["-"]] })))[2], true);
    assertEquals((await c.publish(b.sign({ tags: [["-"]] })))[2], true);
    const foreign = await c.publish(stranger.sign({ tags: [["-"]] }));
    assertEquals(foreign[2], false);
    await c.close();
  });
});

Deno.test("AUTH: kind 22242 is never stored or broadcast", async () => {
  await withRelay({ NEXUS_AUTH: "off" }, async (r) => {
    const [c, watcher] = [await Client.connect(r.url), await Client.connect(r.url)];
    const a = new Agent();
    await watcher.req("all", {});
    const auth = a.sign({ kind: 22242, tags: [["relay", r.url], ["challenge", c.challenge]] });
    c.send(["AUTH", auth]);
    await c.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === auth.id);
    const asEvent = await c.publish(auth);
    assertEquals(asEvent[2], false);
    await watcher.sync();
    assertEquals(watcher.received("EVENT"), []);
    assertEquals((await c.req("q", { kinds: [22242] })).events, []);
    assertEquals(await c.count("n", {}), 0);
    await c.close();
    await watcher.close();
  });
});

Deno.test("AUTH: NEXUS_RELAY_URL is the URL the relay tag must name", async () => {
  await withRelay(
    { NEXUS_AUTH: "required", NEXUS_RELAY_URL: "wss://relay.example.com" },
    async (r) => {
      const c = await Client.connect(r.url);
      const a = new Agent();
      assertEquals(
        (await c.auth(a))[2],
        false,
        "the address the client dialled is not the public URL",
      );
      assertEquals((await c.auth(a, "wss://relay.example.com/"))[2], true);
      await c.close();
    },
  );
});

Deno.test("AUTH: a refused AUTH is not counted as a refused event in /api/stats", async () => {
  await withRelay({ NEXUS_AUTH: "off" }, async (r) => {
    const c = await Client.connect(r.url);
    const events = async () => (await (await fetch(`${r.http}/api/stats`)).json()).events;
    const before = await events();
    for (let i = 0; i < 3; i++) {
      assertEquals((await c.auth(new Agent(), "wss://elsewhere.example"))[2], false);
    }
    const bad = new Agent().sign({ content: "a real refusal" });
    const ok = await c.publish({ ...bad, sig: "0".repeat(128) });
    assertEquals(ok[2], false);
    const after = await events();
    // The EVENT counts, received and refused; the AUTHs do neither.
    assertEquals(after.received_total - before.received_total, 1);
    assertEquals(after.refused_total - before.refused_total, 1);
    await c.close();
  });
});
