/** A client that stops reading is told and disconnected; the relay's memory stays bounded. */
import { assert } from "@std/assert";
import { Agent, Client, startRelay } from "./helpers.ts";

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

Deno.test("a subscriber that never reads is closed and memory stays bounded", async () => {
  const r = await startRelay();
  const port = Number(new URL(r.http).port);
  const slow = await rawSocket(port);
  await slow.write(frame(JSON.stringify(["REQ", "all", { kinds: [1] }])));
  const pub = await Client.connect(r.url);
  await pub.until(() => r.nexus.relay.connections.size === 2);
  const before = Deno.memoryUsage().rss;
  const agent = new Agent();
  const big = "x".repeat(50_000);
  // Up to 40 MB of live events for a reader that reads nothing: several times the cap.
  for (let i = 0; i < 800 && r.nexus.relay.connections.size === 2; i += 50) {
    const batch = Array.from({ length: 50 }, (_, k) => agent.sign({ content: `${i + k} ${big}` }));
    const oks = await Promise.all(batch.map((ev) => pub.publish(ev)));
    for (const ok of oks) assert(ok[2], ok[3]);
  }
  await pub.until(() => r.nexus.relay.connections.size === 1, 10_000);
  const grown = Deno.memoryUsage().rss - before;
  assert(grown < 200 * 1024 * 1024, `rss grew by ${grown} bytes`);
  slow.close();
  await pub.close();
  await r.close();
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
