import { assert, assertEquals, assertMatch } from "@std/assert";
import { Agent, Client, startRelay } from "./helpers.ts";

const PRIVATE = { kinds: [4, 1059, 1] };

for (const mode of ["required", "writes", "off"]) {
  Deno.test(`privacy (NEXUS_AUTH=${mode}): kinds 4 and 1059 reach only their author and p recipient`, async () => {
    const r = await startRelay({ NEXUS_AUTH: mode });
    const [alice, bob, carol] = [new Agent(), new Agent(), new Agent()];
    const conn = async (who?: Agent) => {
      const c = await Client.connect(r.url);
      if (who) assertEquals((await c.auth(who))[2], true);
      return c;
    };
    const a = await conn(alice);
    const b = await conn(bob);
    const c = await conn(carol);
    const anon = await conn();
    // Live path: everyone subscribes before the events exist.
    for (const x of [a, b, c]) assertEquals((await x.req("live", PRIVATE)).events, []);
    const anonLive = await anon.req("live", PRIVATE);
    if (mode === "required") assertMatch(anonLive.closed!, /^auth-required:/);

    const dm = alice.sign({ kind: 4, tags: [["p", bob.pubkey]], content: "secret" });
    const wrap = alice.sign({ kind: 1059, tags: [["p", bob.pubkey]], content: "sealed" });
    const marker = alice.sign({ kind: 1, content: "public" });
    for (const ev of [dm, wrap, marker]) assertEquals((await a.publish(ev))[2], true);

    // The marker was stored last, so once it arrives anything private would have arrived first.
    const liveIds = async (x: Client) => {
      const ids: string[] = [];
      for (;;) {
        const ev = await x.nextEvent("live");
        ids.push(ev.id);
        if (ev.id === marker.id) return ids;
      }
    };
    assertEquals(await liveIds(a), [dm.id, wrap.id, marker.id]);
    assertEquals(await liveIds(b), [dm.id, wrap.id, marker.id]);
    assertEquals(await liveIds(c), [marker.id]);
    if (mode !== "required") assertEquals(await liveIds(anon), [marker.id]);

    // Stored path, by kind and by id.
    const stored = async (x: Client, id: string) => {
      const res = await x.req(id, PRIVATE);
      const byId = await x.req(`${id}-ids`, { ids: [dm.id, wrap.id] });
      return {
        ids: res.events.map((e) => e.id).sort(),
        byId: byId.events.length,
        closed: res.closed,
      };
    };
    const all = [dm.id, wrap.id, marker.id].sort();
    assertEquals(await stored(a, "sa"), { ids: all, byId: 2, closed: undefined });
    assertEquals(await stored(b, "sb"), { ids: all, byId: 2, closed: undefined });
    assertEquals(await stored(c, "sc"), { ids: [marker.id], byId: 0, closed: undefined });
    if (mode !== "required") {
      assertEquals(await stored(anon, "sn"), { ids: [marker.id], byId: 0, closed: undefined });
    }

    // COUNT hides what the connection could not read.
    const count = async (x: Client, id: string) => {
      x.send(["COUNT", id, { kinds: [4, 1059] }, { ids: [dm.id] }]);
      const m = await x.take((m) => Array.isArray(m) && m[1] === id);
      return m[0] === "COUNT" ? (m[2] as { count: number }).count : m[2];
    };
    assertEquals(await count(a, "ca"), 2);
    assertEquals(await count(b, "cb"), 2);
    assertEquals(await count(c, "cc"), 0);
    const anonCount = await count(anon, "cn");
    if (mode === "required") assertMatch(anonCount as string, /^auth-required:/);
    else assertEquals(anonCount, 0);

    for (const x of [a, b, c, anon]) await x.close();
    await r.close();
  });
}

Deno.test("privacy: an AUTH signed for one connection's challenge does not authenticate another", async () => {
  const r = await startRelay({ NEXUS_AUTH: "required" });
  const [alice, bob] = [new Agent(), new Agent()];
  const x = await Client.connect(r.url);
  const y = await Client.connect(r.url);
  assert(x.challenge !== y.challenge);
  const stolen = bob.sign({ kind: 22242, tags: [["relay", r.url], ["challenge", x.challenge]] });
  y.send(["AUTH", stolen]);
  const ok = await y.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === stolen.id);
  assertEquals(ok[2], false);
  assertMatch(ok[3] as string, /^invalid: AUTH challenge does not match/);
  // y is still anonymous: it may not read bob's DMs.
  const dm = alice.sign({ kind: 4, tags: [["p", bob.pubkey]] });
  await x.auth(alice);
  assertEquals((await x.publish(dm))[2], true);
  assertMatch((await y.req("q", { kinds: [4] })).closed!, /^auth-required:/);
  // Replaying x's own accepted AUTH on y fails too.
  const own = alice.sign({ kind: 22242, tags: [["relay", r.url], ["challenge", x.challenge]] });
  y.send(["AUTH", own]);
  const ok2 = await y.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === own.id);
  assertEquals(ok2[2], false);
  await x.close();
  await y.close();
  await r.close();
});

Deno.test("privacy: hidden DMs do not use up a REQ's limit", async () => {
  // limit applies after every condition: the newest readable matches fill it, not unreadable DMs.
  const r = await startRelay({ NEXUS_AUTH: "writes" });
  const [alice, bob, carol] = [new Agent(), new Agent(), new Agent()];
  const w = await Client.connect(r.url);
  await w.auth(alice);
  const notes = [1000, 1001].map((t) => alice.sign({ content: `public ${t}`, created_at: t }));
  for (const ev of notes) assertEquals((await w.publish(ev))[2], true);
  for (let t = 2000; t < 2003; t++) {
    const dm = alice.sign({ kind: 4, tags: [["p", bob.pubkey]], created_at: t });
    assertEquals((await w.publish(dm))[2], true);
  }
  const want = [notes[1]!.id, notes[0]!.id];
  const anon = await Client.connect(r.url);
  const c = await Client.connect(r.url);
  await c.auth(carol);
  for (const x of [anon, c]) {
    const res = await x.req("q", { authors: [alice.pubkey], limit: 2 });
    assertEquals(res.events.map((e) => e.id), want);
    assertEquals((await x.req("dm", { kinds: [4], limit: 5 })).events, []);
  }
  // The recipient's limit is filled by the DMs, newest first.
  const b = await Client.connect(r.url);
  await b.auth(bob);
  const mine = await b.req("q", { authors: [alice.pubkey], limit: 2 });
  assertEquals(mine.events.map((e) => e.created_at), [2002, 2001]);
  for (const x of [w, anon, c, b]) await x.close();
  await r.dispose();
});

Deno.test("privacy: a REQ or COUNT only for DMs, before AUTH, is CLOSED auth-required (NIP-42 flow)", async () => {
  const r = await startRelay({ NEXUS_AUTH: "off" });
  const bob = new Agent();
  const c = await Client.connect(r.url);
  const refused = await c.req("dm", { kinds: [4], "#p": [bob.pubkey] });
  assertMatch(refused.closed ?? "", /^auth-required:/);
  c.send(["COUNT", "n", { kinds: [1059], "#p": [bob.pubkey] }]);
  const closed = await c.take((m) => Array.isArray(m) && m[1] === "n");
  assertEquals(closed[0], "CLOSED");
  assertMatch(String(closed[2]), /^auth-required:/);
  // Mixed filters are served: the public part is not held hostage by the private one.
  assertEquals((await c.req("mixed", { kinds: [1, 4] })).closed, undefined);
  // After AUTH the same REQ runs.
  assertEquals((await c.auth(bob))[2], true);
  assertEquals((await c.req("dm2", { kinds: [4], "#p": [bob.pubkey] })).closed, undefined);
  await c.close();
  await r.dispose();
});
