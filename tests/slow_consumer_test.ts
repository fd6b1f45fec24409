/** A client that stops reading is told and disconnected; the relay's memory stays bounded. */
import { assert, assertEquals } from "@std/assert";
import { Agent, Client, startRelay, type TestRelay } from "./helpers.ts";
import { spawnRelay, stopRelay } from "./process.ts";

/** Open a WebSocket by hand over TCP so the test can stop reading from it entirely. */
async function rawSocket(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await conn.write(new TextEncoder().encode(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf);
  assert(new TextDecoder().decode(buf.subarray(0, n ?? 0)).startsWith("HTTP/1.1 101"));
  return conn;
}

/** Read server frames until a close frame or the deadline; returns the last NOTICE seen. */
async function readFrames(conn: Deno.TcpConn, ms: number) {
  const deadline = Date.now() + ms;
  let buf = new Uint8Array(0);
  let bytes = 0;
  let notice: string | undefined;
  const chunk = new Uint8Array(1 << 16);
  while (Date.now() < deadline) {
    // Parse every complete frame in the buffer.
    for (;;) {
      if (buf.length < 2) break;
      const op = buf[0]! & 0x0f;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) break;
        len = (buf[2]! << 8) | buf[3]!;
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) break;
        len = Number(new DataView(buf.buffer, buf.byteOffset + 2, 8).getBigUint64(0));
        off = 10;
      }
      if (buf.length < off + len) break;
      const payload = buf.subarray(off, off + len);
      if (op === 8) return { closed: true, notice, bytes };
      if (op === 1) {
        const text = new TextDecoder().decode(payload);
        if (text.startsWith('["NOTICE"')) notice = text;
      }
      buf = buf.slice(off + len);
    }
    const n = await Promise.race([
      conn.read(chunk),
      new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now()))),
    ]);
    if (n === null) break;
    bytes += n;
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
  }
  return { closed: false, notice, bytes };
}

/** A masked client text frame. */
function frame(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const mask = crypto.getRandomValues(new Uint8Array(4));
  const len = payload.length;
  const head = len < 126 ? [0x81, 0x80 | len] : [0x81, 0x80 | 126, len >> 8, len & 255];
  const out = new Uint8Array(head.length + 4 + len);
  out.set(head);
  out.set(mask, head.length);
  for (let i = 0; i < len; i++) out[head.length + 4 + i] = payload[i]! ^ mask[i % 4]!;
  return out;
}

Deno.test("a subscriber that never reads is closed and the relay's memory stays bounded", async () => {
  // A separate process, so the relay's RSS is measured alone.
  const dir = await Deno.makeTempDir();
  const relay = await spawnRelay(`${dir}/kv.sqlite`, { NEXUS_MAX_BUFFERED_BYTES: "1048576" });
  const rss = async () =>
    Number(/VmRSS:\s+(\d+)/.exec(await Deno.readTextFile(`/proc/${relay.child.pid}/status`))![1]) *
    1024;
  const pub = await Client.connect(relay.url);
  const agent = new Agent();
  const big = "x".repeat(50_000);
  // Ephemeral events: nothing is stored, so memory moves only with what is buffered for readers.
  const flood = async (n: number) => {
    for (let i = 0; i < n; i += 50) {
      const batch = Array.from(
        { length: 50 },
        (_, k) => agent.sign({ kind: 20001, content: `${i + k} ${big}` }),
      );
      const oks = await Promise.all(batch.map((ev) => pub.publish(ev)));
      for (const ok of oks) assert(ok[2], ok[3]);
    }
  };
  await flood(800); // warm up: the relay's heap grows to its working size with no reader at all
  const before = await rss();
  const port = Number(new URL(relay.http).port);
  const slow = await rawSocket(port);
  await slow.write(frame(JSON.stringify(["REQ", "all", { kinds: [20001] }])));
  await pub.until(() => true);
  await new Promise((r) => setTimeout(r, 200));
  await flood(1600); // 80 MB more, all of it matching the reader that reads nothing
  const grown = (await rss()) - before;
  // Now read: what the relay queued before giving up must end in a NOTICE and a close frame.
  const frames = await readFrames(slow, 10_000);
  assert(frames.closed, "the relay never closed the slow socket");
  assert(frames.notice?.includes("error:"), `no NOTICE before the close: ${frames.notice}`);
  assert(frames.bytes < 30_000_000, `the relay sent the slow reader ${frames.bytes} bytes`);
  // Unbounded buffering grows RSS by about 115 MB here; with a 1 MiB cap growth is heap noise,
  // about 10 MB on an idle machine and up to 40 MB on a loaded one.
  assert(grown < 60 * 1024 * 1024, `relay RSS grew by ${grown} bytes while flooding a slow reader`);
  slow.close();
  await pub.close();
  relay.child.kill("SIGTERM");
  await relay.child.status;
});

Deno.test("idle clients that answer pings stay; dead ones are closed and accounted once", async () => {
  const r = await startRelay({ NEXUS_IDLE_TIMEOUT_SECONDS: "2" });
  const port = Number(new URL(r.http).port);
  const live = await Client.connect(r.url); // Deno's client answers pings by itself.
  const dead = await rawSocket(port); // Never reads, so never answers a ping.
  await live.until(() => r.nexus.relay.connections.size === 2);
  await live.until(() => r.nexus.relay.connections.size === 1, 8000);
  assert(live.ws.readyState === WebSocket.OPEN, "a client answering pings was closed");
  await new Promise((res) => setTimeout(res, 2500));
  assert(live.ws.readyState === WebSocket.OPEN, "a client answering pings was closed");
  dead.close();
  await live.close();
  await live.until(() => r.nexus.relay.connections.size === 0);
  assert(r.nexus.relay.stats.connections === 0, `stats say ${r.nexus.relay.stats.connections}`);
  await r.close();
});

Deno.test("a subscriber that never reads is closed when events reach it through the KV feed; a reading one gets them all", async () => {
  // Two processes on one KV file: what b stores reaches a's subscribers only through the feed.
  const dir = await Deno.makeTempDir();
  const a = await spawnRelay(`${dir}/kv.sqlite`, { NEXUS_MAX_BUFFERED_BYTES: "1048576" });
  const b = await spawnRelay(`${dir}/kv.sqlite`);
  try {
    const port = Number(new URL(a.http).port);
    const slow = await rawSocket(port);
    await slow.write(frame(JSON.stringify(["REQ", "all", { kinds: [1], "#t": ["feed"] }])));
    const reader = await Client.connect(a.url);
    await reader.req("all", { kinds: [1], "#t": ["feed"] });
    const pub = await Client.connect(b.url);
    const agent = new Agent();
    const big = "x".repeat(50_000);
    const sent = new Set<string>();
    for (let i = 0; i < 300; i += 20) {
      const batch = Array.from(
        { length: 20 },
        (_, k) => agent.sign({ content: `${i + k} ${big}`, tags: [["t", "feed"]] }),
      );
      for (const ev of batch) sent.add(ev.id);
      for (const ok of await Promise.all(batch.map((ev) => pub.publish(ev)))) assert(ok[2], ok[3]);
    }
    // 15 MB went to the feed; the reading subscriber on a gets every event once ...
    await reader.until(() => reader.received("EVENT", "all").length >= sent.size, 30_000);
    const got = reader.received("EVENT", "all").map((m) => (m[2] as { id: string }).id);
    assertEquals(got.length, sent.size);
    assertEquals(new Set(got), sent);
    // ... and the one that read nothing was told and closed well before all of it was sent.
    const frames = await readFrames(slow, 10_000);
    assert(frames.closed, "the relay never closed the slow socket");
    assert(frames.notice?.includes("error:"), `no NOTICE before the close: ${frames.notice}`);
    assert(frames.bytes < 10_000_000, `the relay sent the slow reader ${frames.bytes} bytes`);
    slow.close();
    for (const c of [reader, pub]) await c.close();
  } finally {
    for (const r of [a, b]) await stopRelay(r);
    await Deno.remove(dir, { recursive: true });
  }
});

/** Fill a never-reading socket's buffers until the relay closes it; returns the publisher. */
async function overrunSlowReader(r: TestRelay, slow: Deno.TcpConn): Promise<Client> {
  await slow.write(frame(JSON.stringify(["REQ", "all", { kinds: [20001] }])));
  const pub = await Client.connect(r.url);
  await pub.until(() => r.nexus.relay.connections.size === 2);
  const agent = new Agent();
  const big = "x".repeat(50_000);
  for (let i = 0; i < 600 && r.nexus.relay.connections.size === 2; i += 20) {
    const batch = Array.from(
      { length: 20 },
      (_, k) => agent.sign({ kind: 20001, content: `${i + k} ${big}` }),
    );
    for (const ok of await Promise.all(batch.map((ev) => pub.publish(ev)))) assert(ok[2], ok[3]);
  }
  assertEquals(r.nexus.relay.connections.size, 1, "the slow reader was never closed");
  return pub;
}

/** A WebSocket upgrade's HTTP status. */
async function upgradeStatus(r: TestRelay): Promise<number> {
  const res = await fetch(r.http, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": btoa("0123456789abcdef"),
      "sec-websocket-version": "13",
    },
  });
  await res.body?.cancel();
  return res.status;
}

const slowReaderEnv = {
  NEXUS_MAX_CONNECTIONS_PER_IP: "2",
  NEXUS_CONNECTION_CAP_EXEMPT: "",
  NEXUS_MAX_BUFFERED_BYTES: "65536",
};

Deno.test("deno transport: a slow reader the relay closed keeps its per-IP slot until its socket is gone", async () => {
  // Deno's WebSocket cannot drop a socket whose peer never reads its close frame: the per-IP cap
  // is what bounds such sockets, so the slot must be held until the socket really closes.
  const r = await startRelay({ ...slowReaderEnv, NEXUS_TRANSPORT: "deno" });
  const slow = await rawSocket(Number(new URL(r.url).port));
  const pub = await overrunSlowReader(r, slow);
  assertEquals(await upgradeStatus(r), 429, "a closed-but-lingering socket gave up its slot");
  slow.close();
  let status = 0;
  for (let i = 0; i < 100 && status !== 101; i++) {
    status = await upgradeStatus(r);
    if (status !== 101) await new Promise((res) => setTimeout(res, 50));
  }
  assertEquals(status, 101, "the slot was not freed once the socket closed");
  await pub.close();
  await r.close();
});

Deno.test("corked transport: a slow reader the relay closed is dropped soon, and its slot freed", async () => {
  const r = await startRelay({ ...slowReaderEnv, NEXUS_TRANSPORT: "corked" });
  const slow = await rawSocket(Number(new URL(r.url).port));
  const pub = await overrunSlowReader(r, slow);
  // The close frame waits behind unread data: the relay cuts the TCP connection 2 s after the
  // close frame is out, or after 10 s in which the reader took nothing.
  let status = await upgradeStatus(r);
  assertEquals(status, 429, "the slot was freed before the socket was dropped");
  for (let i = 0; i < 300 && status !== 101; i++) {
    await new Promise((res) => setTimeout(res, 50));
    status = await upgradeStatus(r);
  }
  assertEquals(status, 101, "the socket of a client that never reads was never dropped");
  slow.close();
  await pub.close();
  await r.close();
});

for (const transport of ["corked", "deno"]) {
  Deno.test(`${transport} transport: a REQ answer larger than the unread-bytes cap reaches a client that reads it`, async () => {
    const r = await startRelay({ NEXUS_MAX_BUFFERED_BYTES: "65536", NEXUS_TRANSPORT: transport });
    try {
      const c = await Client.connect(r.url);
      const agent = new Agent();
      const body = "y".repeat(8_000);
      const evs = Array.from({ length: 60 }, (_, i) => agent.sign({ content: `${i} ${body}` }));
      for (const ok of await Promise.all(evs.map((ev) => c.publish(ev)))) assert(ok[2], ok[3]);
      // About 480 KB, seven times the cap, asked for at once by a client that reads.
      const reader = await Client.connect(r.url);
      const answer = await reader.req("all", { authors: [agent.pubkey], limit: 100 });
      assertEquals(answer.closed, undefined);
      assertEquals(new Set(answer.events.map((e) => e.id)), new Set(evs.map((e) => e.id)));
      assertEquals(reader.inbox.filter((m) => Array.isArray(m) && m[0] === "NOTICE"), []);
      assertEquals(await reader.count("n", { authors: [agent.pubkey] }), 60);
      for (const x of [c, reader]) await x.close();
    } finally {
      await r.dispose();
    }
  });
}

/** Publish `n` events of `size` characters from `agent`, 20 at a time. */
async function publishMany(pub: Client, agent: Agent, n: number, size: number, tag = "") {
  const body = tag + "x".repeat(size);
  for (let i = 0; i < n; i += 20) {
    const batch = Array.from({ length: 20 }, (_, k) => agent.sign({ content: `${i + k} ${body}` }));
    for (const ok of await Promise.all(batch.map((ev) => pub.publish(ev)))) assert(ok[2], ok[3]);
  }
}

/**
 * A relay holding 10 MB from one author (more than loopback's socket buffers take in for a reader
 * that reads nothing), and a raw client that asked for all of it and reads nothing.
 */
async function pacedAnswer(idleSeconds: string) {
  const r = await startRelay({
    NEXUS_MAX_BUFFERED_BYTES: "65536",
    NEXUS_IDLE_TIMEOUT_SECONDS: idleSeconds,
  });
  const pub = await Client.connect(r.url);
  const agent = new Agent();
  await publishMany(pub, agent, 200, 50_000);
  const slow = await rawSocket(Number(new URL(r.url).port));
  await slow.write(frame(JSON.stringify(["REQ", "all", { authors: [agent.pubkey], limit: 200 }])));
  const conns = r.nexus.relay.connections;
  await pub.until(() => conns.size === 2);
  const closing = () => conns.size === 1 || [...conns].some((c) => !c.transport.open);
  /** Wait up to `ms` for the relay to close the raw client. */
  const closes = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (!closing() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    return closing();
  };
  return { r, pub, agent, slow, closing, closes };
}

Deno.test("a client that stops reading in the middle of a large REQ answer is still closed", async () => {
  const { r, pub, slow, closes } = await pacedAnswer("10");
  try {
    // The answer waits for a reader that never comes, not for ever: once its buffer stops moving
    // for half the idle timeout (5 s), the rest goes at once and the cap closes it as a slow
    // consumer, before unanswered pings would (10 s).
    assert(await closes(8_500), "the relay never closed the slow reader");
  } finally {
    slow.close();
    await pub.close();
    await r.dispose();
  }
});

Deno.test("live events held behind a paced REQ answer count against the cap", async () => {
  // Pings and the pacing's own patience are far off: only the held events can close it soon.
  const { r, pub, agent, slow, closing, closes } = await pacedAnswer("120");
  try {
    // Let the answer fill the socket and start waiting for a reader that never comes.
    await new Promise((res) => setTimeout(res, 1000));
    assert(!closing(), "closed before the live events came");
    await publishMany(pub, agent, 100, 1_000, "live ");
    assert(await closes(5_000), "100 KB of live events were held for a paced answer past 64 KiB");
  } finally {
    slow.close();
    await pub.close();
    await r.dispose();
  }
});
