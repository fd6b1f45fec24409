import { assertEquals, assertMatch } from "@std/assert";
import { Agent, Client, startRelay } from "./helpers.ts";

const now = () => Math.floor(Date.now() / 1000);
const notice = (m: unknown) => Array.isArray(m) && m[0] === "NOTICE";

Deno.test("limits: every hard limit is refused with its prefix and the connection keeps working", async () => {
  const r = await startRelay({
    NEXUS_MAX_MESSAGE_LENGTH: "2000",
    NEXUS_MAX_SUBSCRIPTIONS: "2",
    NEXUS_MAX_FILTERS: "2",
    NEXUS_MAX_FILTER_VALUES: "3",
    NEXUS_MAX_EVENT_TAGS: "3",
    NEXUS_MAX_CONTENT_LENGTH: "100",
    NEXUS_CREATED_AT_LOWER_LIMIT: "3600",
  });
  const c = await Client.connect(r.url);
  const a = new Agent();
  const refused = async (ev: ReturnType<Agent["sign"]>, re: RegExp) => {
    const ok = await c.publish(ev);
    assertEquals(ok[2], false, JSON.stringify(ok));
    assertMatch(ok[3], re);
  };

  // Message size, before parsing: an oversized EVENT still gets an OK naming its id.
  await refused(
    a.sign({ content: "x".repeat(1990) + "é".repeat(10) }),
    /^invalid: message is larger/,
  );
  // NIP-42 answers every AUTH with an OK too, an oversized one included.
  const bigAuth = a.sign({
    kind: 22242,
    tags: [["relay", r.url], ["challenge", c.challenge], ["pad", "x".repeat(3000)]],
  });
  c.send(JSON.stringify(["AUTH", bigAuth]));
  const authOk = await c.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === bigAuth.id);
  assertEquals(authOk[2], false);
  assertMatch(authOk[3] as string, /^invalid: message is larger than 2000 bytes/);
  c.send(JSON.stringify(["REQ", "big", { "#t": ["y".repeat(3000)] }]));
  const bigClosed = await c.take((m) => Array.isArray(m) && m[0] === "CLOSED" && m[1] === "big");
  assertMatch(bigClosed[2] as string, /^invalid: message is larger than 2000 bytes/);
  assertMatch((await c.take(notice))[1] as string, /^invalid: message is larger than 2000 bytes/);
  // The same for an id of 40 emoji (40 characters, 80 UTF-16 units) behind whitespace.
  const emoji = "\u{1F600}".repeat(40);
  c.send(" " + JSON.stringify(["REQ", emoji, { "#t": ["y".repeat(3000)] }]));
  await c.take((m) => Array.isArray(m) && m[0] === "CLOSED" && m[1] === emoji);
  await c.take(notice);
  // Multi-byte characters count in bytes, not characters.
  c.send(JSON.stringify(["REQ", "mb", { "#t": ["é".repeat(1000)] }]));
  assertMatch((await c.take(notice))[1] as string, /^invalid: message is larger/);

  // Event fields.
  await refused(a.sign({ content: "x".repeat(101) }), /^invalid: content is longer than 100/);
  await refused(
    a.sign({ tags: [["t", "1"], ["t", "2"], ["t", "3"], ["t", "4"]] }),
    /^invalid: more than 3 tags/,
  );
  await refused(
    a.sign({ created_at: now() + 1000 }),
    /^invalid: created_at is more than 900 seconds in the future/,
  );
  await refused(
    a.sign({ created_at: now() - 7200 }),
    /^invalid: created_at is more than 3600 seconds in the past/,
  );

  // REQ shape.
  const closed = async (msg: unknown[], id: string, re: RegExp) => {
    c.send(msg);
    const m = await c.take((m) => Array.isArray(m) && m[0] === "CLOSED" && m[1] === id);
    assertMatch(m[2] as string, re);
  };
  await closed(["REQ", "f", {}, {}, {}], "f", /^invalid: more than 2 filters/);
  await closed(["COUNT", "f", {}, {}, {}], "f", /^invalid: more than 2 filters/);
  await closed(["REQ", "v", { kinds: [1, 2, 3, 4] }], "v", /^invalid: "kinds" has more than 3/);
  await closed(
    ["REQ", "v", { authors: Array(4).fill(a.pubkey) }],
    "v",
    /^invalid: "authors" has more/,
  );
  await closed(["REQ", "v", { ids: Array(4).fill(a.pubkey) }], "v", /^invalid: "ids" has more/);
  await closed(["REQ", "v", { "#t": ["1", "2", "3", "4"] }], "v", /^invalid: "#t" has more/);
  await closed(
    ["REQ", "s".repeat(65), {}],
    "s".repeat(65),
    /^invalid: subscription id must be 1 to 64/,
  );
  await closed(["REQ", "", {}], "", /^invalid: subscription id/);
  c.send(["REQ", "s".repeat(64), { limit: 0 }]);
  await c.take((m) => Array.isArray(m) && m[0] === "EOSE" && m[1] === "s".repeat(64));
  c.send(["REQ", "second", { limit: 0 }]);
  await c.take((m) => Array.isArray(m) && m[0] === "EOSE" && m[1] === "second");
  await closed(["REQ", "third", {}], "third", /^rate-limited: at most 2 open subscriptions/);
  // Re-using an open id replaces that subscription instead of counting as a new one.
  c.send(["REQ", "second", { limit: 0 }]);
  await c.take((m) => Array.isArray(m) && m[0] === "EOSE" && m[1] === "second");
  c.send(["CLOSE", "second"]);

  // Still usable after all of it.
  const ev = a.sign({ content: "fine", tags: [["t", "ok"]] });
  assertEquals((await c.publish(ev))[2], true);
  const { events } = await c.req("after", { "#t": ["ok"] });
  assertEquals(events.map((e) => e.id), [ev.id]);
  await c.close();
  await r.close();
});

Deno.test("limits: a connection's open subscriptions hold at most NEXUS_MAX_OPEN_FILTER_VALUES values", async () => {
  const r = await startRelay({ NEXUS_MAX_OPEN_FILTER_VALUES: "2000" });
  const c = await Client.connect(r.url);
  const tags = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${i}`);
  const info = await (await fetch(r.http, { headers: { accept: "application/nostr+json" } }))
    .json();
  assertEquals(info.limitation.nexus_max_open_filter_values, 2000);
  // 1 + 900 and 1 + 900: 1802 held.
  assertEquals((await c.req("a", { "#t": tags(900, "a") })).closed, undefined);
  assertEquals((await c.req("b", { "#t": tags(900, "b") })).closed, undefined);
  const over = await c.req("c", { "#t": tags(300, "c") });
  assertMatch(over.closed ?? "", /^rate-limited: /);
  // Replacing "b" with a smaller filter frees its share; closing "a" frees the rest.
  assertEquals((await c.req("b", { "#t": tags(100, "b") })).closed, undefined);
  assertEquals((await c.req("c", { "#t": tags(300, "c") })).closed, undefined);
  assertMatch((await c.req("d", { "#t": tags(900, "d") })).closed ?? "", /^rate-limited: /);
  c.send(["CLOSE", "a"]);
  assertEquals((await c.req("d", { "#t": tags(900, "d") })).closed, undefined);
  // The open subscriptions still deliver; the refused ones hold nothing.
  const ev = new Agent().sign({ tags: [["t", "d5"], ["t", "b5"]] });
  assertEquals((await c.publish(ev))[2], true);
  assertEquals((await c.nextEvent("b")).id, ev.id);
  assertEquals((await c.nextEvent("d")).id, ev.id);
  // Another connection has its own allowance.
  const other = await Client.connect(r.url);
  assertEquals(
    (await other.req("x", { "#t": tags(1000, "x") }, { "#t": tags(900, "y") })).closed,
    undefined,
  );
  await other.close();
  await c.close();
  await r.dispose();
});
