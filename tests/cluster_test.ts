/**
 * Fan-out across isolates and processes: every matching subscriber sees every event exactly once,
 * whichever isolate or process the publisher reached.
 */
import { assertEquals } from "@std/assert";
import { Agent, Client } from "./helpers.ts";
import { spawnRelay, stopRelay } from "./process.ts";
import { loadConfig } from "../config.ts";
import { createNexus, openKv } from "../server.ts";
import type { Filter, NostrEvent } from "../nostr/types.ts";

interface Isolate {
  url: string;
  stop(): Promise<void>;
  gaps?(): Promise<number>;
}

async function startWorker(env: Record<string, string>): Promise<Isolate> {
  const w = new Worker(new URL("./fixtures/relay_worker.ts", import.meta.url), { type: "module" });
  const port = await new Promise<number>((res, rej) => {
    w.onerror = (e) => {
      e.preventDefault();
      rej(new Error(`relay worker failed: ${e.message}`));
    };
    w.onmessage = (e) => {
      if (e.data.ready) w.postMessage({ env });
      else res(e.data.port);
    };
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    gaps: () =>
      new Promise<number>((res) => {
        w.onmessage = (e) => res(e.data.gaps);
        w.postMessage({ gaps: true });
      }),
    async stop() {
      await new Promise<void>((res) => {
        w.onmessage = () => res();
        w.postMessage({ stop: true });
      });
      w.terminate();
    },
  };
}

/** Collect live events per subscriber until each has `n` or the deadline passes. */
async function collect(subs: Client[], n: number, ms: number): Promise<NostrEvent[][]> {
  const deadline = Date.now() + ms;
  const got = subs.map(() => [] as NostrEvent[]);
  await Promise.all(subs.map(async (c, i) => {
    while (got[i]!.length < n && Date.now() < deadline) {
      try {
        got[i]!.push(await c.nextEvent("live", Math.max(1, deadline - Date.now())));
      } catch {
        break;
      }
    }
  }));
  // Let late duplicates arrive before counting.
  await new Promise((r) => setTimeout(r, 300));
  subs.forEach((c, i) => {
    for (let m; (m = c.inbox.findIndex((x) => Array.isArray(x) && x[0] === "EVENT")) >= 0;) {
      got[i]!.push((c.inbox.splice(m, 1)[0] as unknown[])[2] as NostrEvent);
    }
  });
  return got;
}

function assertExactlyOnce(got: NostrEvent[][], sent: NostrEvent[]) {
  const want = sent.map((e) => e.id).sort();
  for (const g of got) assertEquals(g.map((e) => e.id).sort(), want);
}

async function subscribeAll(url: string, n: number, filter: Filter): Promise<Client[]> {
  const subs = await Promise.all(Array.from({ length: n }, () => Client.connect(url)));
  for (const c of subs) await c.req("live", filter);
  return subs;
}

Deno.test("two isolates in one process: events reach subscribers on the other isolate once", async () => {
  const dir = await Deno.makeTempDir();
  const env = { NEXUS_AUTH: "off", NEXUS_RATE_LIMITS: "off", NEXUS_KV_PATH: `${dir}/kv.sqlite` };
  const a = await startWorker(env);
  const b = await startWorker(env);
  const agent = new Agent();
  const subs = await subscribeAll(a.url, 3, { authors: [agent.pubkey] });
  const pub = await Client.connect(b.url);
  const sent = [];
  for (let i = 0; i < 50; i++) {
    const ev = agent.sign({ content: `x${i}` });
    sent.push(ev);
    assertEquals((await pub.publish(ev))[2], true);
  }
  assertExactlyOnce(await collect(subs, sent.length, 10_000), sent);
  for (const c of [...subs, pub]) await c.close();
  await a.stop();
  await b.stop();
});

Deno.test("a BroadcastChannel flood drops messages, and the feed repairs every gap", async () => {
  const dir = await Deno.makeTempDir();
  const env = { NEXUS_AUTH: "off", NEXUS_RATE_LIMITS: "off", NEXUS_KV_PATH: `${dir}/kv.sqlite` };
  const a = await startWorker(env);
  const b = await startWorker(env);
  const agent = new Agent();
  const subs = await subscribeAll(a.url, 2, { kinds: [1], authors: [agent.pubkey] });
  const pubs = await Promise.all(Array.from({ length: 4 }, () => Client.connect(b.url)));
  // Noise on another channel name shares the runtime's one buffer and makes receivers drop.
  const noise = new BroadcastChannel("nexus-test-noise");
  let flooding = true;
  const flood = (async () => {
    while (flooding) {
      for (let i = 0; i < 2000; i++) noise.postMessage(i);
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  const sent = Array.from({ length: 2000 }, (_, i) => agent.sign({ content: `burst ${i}` }));
  await Promise.all(pubs.map(async (p, k) => {
    const mine = sent.filter((_, i) => i % pubs.length === k);
    for (const ev of mine) p.send(["EVENT", ev]);
    await p.until(
      () => p.inbox.filter((m) => Array.isArray(m) && m[0] === "OK" && m[2]).length >= mine.length,
      60_000,
    );
  }));
  flooding = false;
  await flood;
  noise.close();
  assertExactlyOnce(await collect(subs, sent.length, 20_000), sent);
  console.log(`BroadcastChannel gaps repaired from the feed: ${await a.gaps!()}`);
  for (const c of [...subs, ...pubs]) await c.close();
  await a.stop();
  await b.stop();
});

Deno.test("two relay processes on one KV file deliver each other's events through the feed", async () => {
  const dir = await Deno.makeTempDir();
  const a = await spawnRelay(`${dir}/kv.sqlite`);
  const b = await spawnRelay(`${dir}/kv.sqlite`);
  const agent = new Agent();
  const subs = await subscribeAll(a.url, 2, { authors: [agent.pubkey] });
  const pub = await Client.connect(b.url);
  const sent = [];
  for (let i = 0; i < 100; i++) {
    const ev = agent.sign({ content: `p${i}` });
    sent.push(ev);
    pub.send(["EVENT", ev]);
  }
  await pub.until(
    () => pub.inbox.filter((m) => Array.isArray(m) && m[0] === "OK" && m[2]).length === 100,
    20_000,
  );
  assertExactlyOnce(await collect(subs, sent.length, 10_000), sent);
  for (const c of [...subs, pub]) await c.close();
  await stopRelay(a);
  await stopRelay(b);
});

Deno.test("two relay processes on one KV file each report stats for both", async () => {
  // Issue 4: the numbers are for the whole relay. Processes (and Deploy instances) share only the
  // KV, so each isolate's snapshot goes through it.
  const dir = await Deno.makeTempDir();
  const a = await spawnRelay(`${dir}/kv.sqlite`);
  const b = await spawnRelay(`${dir}/kv.sqlite`);
  const agent = new Agent();
  const pub = await Client.connect(b.url);
  for (let i = 0; i < 5; i++) assertEquals((await pub.publish(agent.sign({})))[2], true);
  const received = async (http: string) => {
    const s = await (await fetch(`${http}/api/stats`)).json();
    return [s.isolates.length, s.events.received_total, s.connections.now];
  };
  let seen: number[] = [];
  for (let i = 0; i < 80; i++) {
    seen = [...await received(a.http), ...await received(b.http)];
    if (seen.join() === "2,5,1,2,5,1") break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assertEquals(seen, [2, 5, 1, 2, 5, 1]);
  await pub.close();
  // A process that stops takes its snapshot with it: the other drops it at its next read (5 s),
  // not 15 s later when it would have gone stale.
  await stopRelay(b);
  const stopped = Date.now();
  while ((await received(a.http))[0] !== 1 && Date.now() - stopped < 8000) {
    await new Promise((r) => setTimeout(r, 250));
  }
  assertEquals((await received(a.http))[0], 1, "a stopped process still counted");
  await stopRelay(a);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("isolates that open a fresh KV file at the same moment all join the fan-out", async () => {
  // deno serve --parallel opens one new SQLite file from every worker at once, and the first
  // writes then often fail with "database is locked". An isolate whose cluster start failed never
  // heard the others' events, so its subscribers missed everything published elsewhere.
  for (let round = 0; round < 5; round++) {
    const dir = await Deno.makeTempDir();
    const kvPath = `${dir}/kv.sqlite`;
    const config = loadConfig((n) => ({ NEXUS_AUTH: "off", NEXUS_KV_PATH: kvPath })[n]);
    const kvs = await Promise.all([openKv(kvPath), openKv(kvPath), openKv(kvPath)]);
    const nodes = kvs.map((kv) => createNexus(config, kv));
    const deadline = Date.now() + 5000;
    while (nodes.some((n) => !n.cluster.joined) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(nodes.map((n) => n.cluster.joined), [true, true, true], `round ${round}`);
    for (const n of nodes) await n.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an event stored elsewhere just before a REQ is not sent again when the feed brings it", async () => {
  const dir = await Deno.makeTempDir();
  // A slow poll: the feed delivers the event well after this relay's REQ answered it from the store.
  const env = { NEXUS_FEED_POLL_MS: "1500" };
  const a = await spawnRelay(`${dir}/kv.sqlite`, env);
  const b = await spawnRelay(`${dir}/kv.sqlite`, env);
  const agent = new Agent();
  const pub = await Client.connect(b.url);
  const sub = await Client.connect(a.url);
  const ev = agent.sign({ content: "stored on b" });
  assertEquals((await pub.publish(ev))[2], true);
  const { events } = await sub.req("s", { authors: [agent.pubkey] });
  assertEquals(events.map((e) => e.id), [ev.id]);
  await new Promise((r) => setTimeout(r, 3500));
  assertEquals(sub.inbox.filter((m) => Array.isArray(m) && m[0] === "EVENT").length, 0);
  for (const c of [pub, sub]) await c.close();
  for (const p of [a, b]) await stopRelay(p);
});

Deno.test("two relay processes on one KV file: a REQ or COUNT on one sees what the other just stored or deleted", async () => {
  const dir = await Deno.makeTempDir();
  const a = await spawnRelay(`${dir}/kv.sqlite`);
  const b = await spawnRelay(`${dir}/kv.sqlite`);
  const agent = new Agent();
  const pub = await Client.connect(b.url);
  const sub = await Client.connect(a.url);
  const hot = async () => (await (await fetch(`${a.http}/api/stats`)).json()).storage.hot_events;
  const fromMemory = async () => (await hot()).filters_from_memory_total as number;
  const stored: string[] = [];
  let asked = 0;
  const ask = async () => {
    const id = `q${asked++}`;
    const { events } = await sub.req(id, { authors: [agent.pubkey], limit: 100 });
    sub.send(["CLOSE", id]); // or live deliveries to it would mix with later answers
    return events.map((e) => e.id);
  };
  for (let i = 0; i < 20; i++) {
    const ev = agent.sign({ content: `n${i}`, created_at: 1_700_000_000 + i });
    assertEquals((await pub.publish(ev))[2], true);
    stored.unshift(ev.id);
    // Straight after b's OK, a must not answer from a window that has not seen it yet.
    // COUNT first on even rounds, REQ first on odd ones: each meets a window not yet caught up.
    const count = () => sub.count(`c${i}`, { authors: [agent.pubkey] });
    if (i % 2 === 0) assertEquals(await count(), stored.length, `count after publish ${i}`);
    assertEquals(await ask(), stored, `after publish ${i}`);
    if (i % 2 === 1) assertEquals(await count(), stored.length, `count after publish ${i}`);
  }
  const victim = stored.splice(5, 1)[0]!;
  const deletion = agent.sign({ kind: 5, tags: [["e", victim]], created_at: 1_700_000_100 });
  assertEquals((await pub.publish(deletion))[2], true);
  const got = await ask();
  assertEquals(got, [deletion.id, ...stored]);
  assertEquals(await sub.count("c", { authors: [agent.pubkey] }), got.length);
  // Once a has read the feed its window answers, and still exactly.
  await new Promise((r) => setTimeout(r, 1500));
  const before = await fromMemory();
  assertEquals(await ask(), got);
  assertEquals(await fromMemory(), before + 1, "answered from memory");
  const counted = (await hot()).count_filters_from_memory_total as number;
  assertEquals(await sub.count("c2", { authors: [agent.pubkey] }), got.length);
  // Two store counts, both from memory: the filter, and its private-kinds part (NIP-42, subtracted
  // for a connection that has not authenticated).
  assertEquals((await hot()).count_filters_from_memory_total, counted + 2, "counted from memory");
  for (const c of [pub, sub]) await c.close();
  for (const p of [a, b]) await stopRelay(p);
});

Deno.test("the same event sent to two isolates at once is OK'd as new once, duplicate: elsewhere", async () => {
  // Each isolate's plan reads the event as absent; unless the commit checks its key, both write it
  // and both answer a plain OK true (with two change-feed entries and a double count).
  const dir = await Deno.makeTempDir();
  const env = { NEXUS_KV_PATH: `${dir}/kv.sqlite`, NEXUS_AUTH: "off", NEXUS_RATE_LIMITS: "off" };
  const a = await startWorker(env);
  const b = await startWorker(env);
  const cs = await Promise.all(
    [0, 1, 2, 3, 4, 5, 6, 7].map((i) => Client.connect([a, b][i % 2]!.url)),
  );
  const agent = new Agent();
  let twice = 0;
  for (let i = 0; i < 60; i++) {
    const ev = agent.sign({ content: `dup ${i}` });
    const oks = await Promise.all(cs.map((c, k) => {
      // A deletion and an addressable event alongside send each batch down the reading path.
      const other = new Agent();
      c.send(["EVENT", other.sign({ kind: 5, tags: [["e", "0".repeat(63) + (k % 10)]] })]);
      c.send(["EVENT", other.sign({ kind: 30001, tags: [["d", "m"]] })]);
      return c.publish(ev);
    }));
    if (oks.filter((ok) => ok[2] === true && ok[3] === "").length !== 1) twice++;
  }
  assertEquals(twice, 0, "events OK'd as new by more than one connection");
  for (const c of cs) await c.close();
  await a.stop();
  await b.stop();
  await Deno.remove(dir, { recursive: true });
});
