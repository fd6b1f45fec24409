import { assert, assertEquals, assertMatch } from "@std/assert";
import { Agent, Client, startRelay } from "./helpers.ts";
import type { NostrEvent } from "../nostr/types.ts";
import { loadConfig } from "../config.ts";
import { clientIp } from "../server.ts";

type Ok = [string, string, boolean, string];

/** Send events without waiting, then collect every OK. */
async function publishAll(c: Client, evs: NostrEvent[]): Promise<Ok[]> {
  for (const ev of evs) c.send(["EVENT", ev]);
  const oks: Ok[] = [];
  for (const ev of evs) {
    oks.push(
      await c.take((m) => Array.isArray(m) && m[0] === "OK" && m[1] === ev.id) as Ok,
    );
  }
  return oks;
}

const accepted = (oks: Ok[]) => oks.filter((o) => o[2]).length;
const limited = (oks: Ok[]) => oks.filter((o) => !o[2] && o[3].startsWith("rate-limited:")).length;

Deno.test("rate limit: anonymous EVENTs over the burst get rate-limited and the connection stays usable", async () => {
  const r = await startRelay({
    NEXUS_RATE_LIMITS: "on",
    NEXUS_EVENT_ANON_RATE: "1",
    NEXUS_EVENT_ANON_BURST: "5",
  });
  const c = await Client.connect(r.url);
  // Distinct authors: only the per-connection bucket can refuse.
  const evs = Array.from({ length: 10 }, (_, i) => new Agent().sign({ content: `e${i}` }));
  const oks = await publishAll(c, evs);
  assert(accepted(oks) >= 5 && accepted(oks) <= 7, JSON.stringify(oks));
  assertEquals(accepted(oks) + limited(oks), 10, "every refusal says rate-limited:");
  // Still usable: reads are not throttled by the EVENT bucket, and accepted events are stored.
  const { events } = await c.req("q", { ids: evs.map((e) => e.id) });
  assertEquals(events.length, accepted(oks));
  await c.close();
  await r.close();
});

Deno.test("rate limit: an authenticated pubkey's bucket is shared by all its connections", async () => {
  const r = await startRelay({
    NEXUS_RATE_LIMITS: "on",
    NEXUS_EVENT_AUTHED_RATE: "1",
    NEXUS_EVENT_AUTHED_BURST: "4",
  });
  const a = new Agent();
  const c1 = await Client.connect(r.url);
  const c2 = await Client.connect(r.url);
  assertEquals((await c1.auth(a))[2], true);
  assertEquals((await c2.auth(a))[2], true);
  const oks1 = await publishAll(c1, [0, 1, 2].map((i) => a.sign({ content: `a${i}` })));
  const oks2 = await publishAll(c2, [3, 4, 5].map((i) => a.sign({ content: `a${i}` })));
  assertEquals(accepted(oks1), 3);
  // Each connection alone allows 4; the pubkey bucket (4 in all) refuses on the second one.
  assert(accepted(oks2) <= 2, JSON.stringify(oks2));
  assert(limited(oks2) >= 1);
  await c1.close();
  await c2.close();
  await r.close();
});

Deno.test("rate limit: anonymous traffic claiming a pubkey does not drain its authenticated owner", async () => {
  const r = await startRelay({
    NEXUS_RATE_LIMITS: "on",
    NEXUS_EVENT_ANON_RATE: "1",
    NEXUS_EVENT_ANON_BURST: "2",
    NEXUS_EVENT_AUTHED_RATE: "1",
    NEXUS_EVENT_AUTHED_BURST: "20",
  });
  const a = new Agent();
  const anon = await Client.connect(r.url);
  const anonOks = await publishAll(anon, [0, 1, 2, 3, 4].map((i) => a.sign({ content: `x${i}` })));
  assert(accepted(anonOks) <= 3 && limited(anonOks) >= 2, JSON.stringify(anonOks));
  const authed = await Client.connect(r.url);
  await authed.auth(a);
  const oks = await publishAll(
    authed,
    Array.from({ length: 15 }, (_, i) => a.sign({ content: `y${i}` })),
  );
  assertEquals(accepted(oks), 15, JSON.stringify(oks.filter((o) => !o[2])));
  await anon.close();
  await authed.close();
  await r.close();
});

Deno.test("rate limit: events forged in an author's name do not use up that author's bucket", async () => {
  const r = await startRelay({
    NEXUS_RATE_LIMITS: "on",
    NEXUS_EVENT_ANON_RATE: "1",
    NEXUS_EVENT_ANON_BURST: "3",
  });
  const victim = new Agent();
  const forgers = await Promise.all([0, 1, 2, 3].map(() => Client.connect(r.url)));
  // Each forger's events claim the victim's pubkey with a signature that does not verify.
  for (const [n, c] of forgers.entries()) {
    const forged = [0, 1].map((i) => {
      const ev = new Agent().sign({ content: `forged ${n} ${i}` });
      return { ...ev, pubkey: victim.pubkey };
    });
    const oks = await publishAll(c, forged);
    for (const ok of oks) assertMatch(ok[3], /^invalid:/, JSON.stringify(ok));
  }
  // Eight forged events were refused as invalid; the victim's own burst of three is intact.
  const own = await Client.connect(r.url);
  const oks = await publishAll(own, [0, 1, 2].map((i) => victim.sign({ content: `own ${i}` })));
  assertEquals(accepted(oks), 3, JSON.stringify(oks));
  for (const c of [...forgers, own]) await c.close();
  await r.close();
});

Deno.test("rate limit: AUTH messages draw on the connection's EVENT bucket", async () => {
  const r = await startRelay({
    NEXUS_RATE_LIMITS: "on",
    NEXUS_EVENT_ANON_RATE: "1",
    NEXUS_EVENT_ANON_BURST: "3",
  });
  const c = await Client.connect(r.url);
  const answers = [];
  for (let i = 0; i < 6; i++) {
    answers.push((await c.auth(new Agent(), "wss://elsewhere.example"))[3]);
  }
  // Three wrong-relay AUTHs are checked and refused; after them the bucket is empty.
  assertEquals(answers.slice(0, 3).map((a) => String(a).split(":")[0]), Array(3).fill("invalid"));
  assert(
    answers.slice(3).every((a) => String(a).startsWith("rate-limited:")),
    JSON.stringify(answers),
  );
  await c.close();
  await r.close();
});

Deno.test("rate limit: REQ and COUNT over the burst get CLOSED rate-limited", async () => {
  const r = await startRelay({
    NEXUS_RATE_LIMITS: "on",
    NEXUS_REQ_ANON_RATE: "1",
    NEXUS_REQ_ANON_BURST: "3",
  });
  const c = await Client.connect(r.url);
  for (let i = 0; i < 6; i++) c.send(["REQ", `s${i}`, { kinds: [1] }]);
  c.send(["COUNT", "n", { kinds: [1] }]);
  const answers: unknown[][] = [];
  for (const id of ["s0", "s1", "s2", "s3", "s4", "s5", "n"]) {
    answers.push(
      await c.take((m) =>
        Array.isArray(m) && m[1] === id && ["EOSE", "CLOSED", "COUNT"].includes(m[0] as string)
      ),
    );
  }
  const eose = answers.filter((m) => m[0] === "EOSE").length;
  assert(eose >= 3 && eose <= 4, JSON.stringify(answers));
  const refused = answers.filter((m) => m[0] === "CLOSED");
  assertEquals(refused.length, 7 - eose);
  for (const m of refused) assertMatch(m[2] as string, /^rate-limited: /);
  assertEquals(answers.at(-1)![0], "CLOSED", "COUNT shares the REQ bucket");
  // EVENT has its own bucket: the connection can still publish.
  const ev = new Agent().sign({});
  assertEquals((await c.publish(ev))[2], true);
  await c.close();
  await r.close();
});

Deno.test("rate limit: authenticated defaults take a burst of 1000 events from one agent", async () => {
  const r = await startRelay({ NEXUS_RATE_LIMITS: "on", NEXUS_AUTH: "required" });
  const a = new Agent();
  const c = await Client.connect(r.url);
  await c.auth(a);
  const evs = Array.from({ length: 1000 }, (_, i) => a.sign({ content: `burst ${i}` }));
  const oks = await publishAll(c, evs);
  assertEquals(accepted(oks), 1000, JSON.stringify(oks.find((o) => !o[2])));
  await c.close();
  await r.close();
});

Deno.test("rate limit: NIP-11 publishes the rates, anonymous below authenticated", async () => {
  const r = await startRelay({ NEXUS_RATE_LIMITS: "on" });
  const res = await fetch(r.http, { headers: { accept: "application/nostr+json" } });
  const lim = (await res.json()).limitation;
  assert(lim.nexus_event_rate.authenticated.per_second >= 100);
  assert(lim.nexus_event_rate.anonymous.per_second < lim.nexus_event_rate.authenticated.per_second);
  assert(lim.nexus_req_rate.anonymous.burst < lim.nexus_req_rate.authenticated.burst);
  assertEquals(lim.nexus_max_connections_per_ip, 200);
  await r.close();
});

/** Open a raw WebSocket upgrade and return the HTTP status; the connection is kept open. */
async function upgrade(http: string, headers: Record<string, string> = {}) {
  const { hostname, port } = new URL(http);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  await conn.write(
    new TextEncoder().encode(
      `GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
        `Sec-WebSocket-Version: 13\r\n${extra}\r\n`,
    ),
  );
  const buf = new Uint8Array(1024);
  const n = await conn.read(buf);
  const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
  return { status: Number(head.split(" ")[1]), conn };
}

Deno.test("rate limit: the per-IP connection cap refuses the upgrade with 429 and frees slots on close", async () => {
  const r = await startRelay({
    NEXUS_MAX_CONNECTIONS_PER_IP: "2",
    NEXUS_CONNECTION_CAP_EXEMPT: "",
  });
  const a = await Client.connect(r.url);
  const b = await Client.connect(r.url);
  const third = await upgrade(r.http);
  assertEquals(third.status, 429);
  third.conn.close();
  await a.close();
  // The slot is released once the server sees the close.
  let status = 0;
  for (let i = 0; i < 50 && status !== 101; i++) {
    const u = await upgrade(r.http);
    status = u.status;
    u.conn.close();
    if (status !== 101) await new Promise((res) => setTimeout(res, 20));
  }
  assertEquals(status, 101);
  await b.close();
  await r.close();
});

Deno.test("rate limit: loopback is exempt from the default per-IP cap", async () => {
  const cfg = loadConfig((n) => ({ NEXUS_KV_PATH: ":memory:" } as Record<string, string>)[n]);
  assertEquals(cfg.connectionCapExempt, ["127.0.0.1", "::1", "::ffff:127.0.0.1"]);
  const r2 = await startRelay({
    NEXUS_MAX_CONNECTIONS_PER_IP: "1",
    NEXUS_CONNECTION_CAP_EXEMPT: "127.0.0.1,::1,::ffff:127.0.0.1",
  });
  const us = [await upgrade(r2.http), await upgrade(r2.http), await upgrade(r2.http)];
  assertEquals(us.map((u) => u.status), [101, 101, 101]);
  for (const u of us) u.conn.close();
  await r2.close();
});

Deno.test("rate limit: an explicit NEXUS_MAX_CONNECTIONS_PER_IP applies to loopback too", async () => {
  // A client reading only the issue sets the cap and expects it enforced from 127.0.0.1.
  const r = await startRelay({ NEXUS_MAX_CONNECTIONS_PER_IP: "1" });
  const us = [await upgrade(r.http), await upgrade(r.http)];
  assertEquals(us.map((u) => u.status), [101, 429]);
  for (const u of us) u.conn.close();
  await r.close();
});

Deno.test("rate limit: X-Forwarded-For counts only when NEXUS_TRUST_PROXY is on", async () => {
  for (const trust of ["on", "off"]) {
    const r = await startRelay({
      NEXUS_MAX_CONNECTIONS_PER_IP: "1",
      NEXUS_TRUST_PROXY: trust,
      NEXUS_CONNECTION_CAP_EXEMPT: "",
    });
    const one = await upgrade(r.http, { "x-forwarded-for": "10.0.0.1" });
    // A proxy appends the address it saw to what the client sent: a forged first entry must not
    // make the same client a new one.
    const forged = await upgrade(r.http, { "x-forwarded-for": "198.51.100.7, 10.0.0.1" });
    const other = await upgrade(r.http, { "x-forwarded-for": "10.0.0.2" });
    assertEquals(one.status, 101);
    assertEquals(forged.status, 429);
    assertEquals(other.status, trust === "on" ? 101 : 429, `trust ${trust}`);
    for (const u of [one, forged, other]) u.conn.close();
    await r.close();
  }
});

Deno.test("clientIp: the trusted header's last entry, without a port; none when it is empty", () => {
  const remote: Deno.NetAddr = { transport: "tcp", hostname: "10.9.9.9", port: 4000 };
  const ip = (xff: string | undefined, header: string | undefined = "x-forwarded-for") =>
    clientIp(
      new Request("http://relay/", { headers: xff === undefined ? {} : { [header]: xff } }),
      remote,
      header === "none" ? undefined : header,
    );
  assertEquals(ip("203.0.113.5"), "203.0.113.5");
  assertEquals(ip("198.51.100.7, 203.0.113.5"), "203.0.113.5");
  assertEquals(ip("203.0.113.5:51234"), "203.0.113.5");
  assertEquals(ip("[2001:db8::1]:443"), "2001:db8::1");
  assertEquals(ip("2001:db8::1"), "2001:db8::1");
  // The proxy appended nothing: every entry is the client's, so the socket's address counts.
  assertEquals(ip("198.51.100.7, "), "10.9.9.9");
  assertEquals(ip(undefined), "10.9.9.9");
  assertEquals(ip("198.51.100.7", "x-real-ip"), "198.51.100.7");
  assertEquals(ip("198.51.100.7", "none"), "10.9.9.9");
});
