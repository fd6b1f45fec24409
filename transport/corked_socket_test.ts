import { assert, assertEquals } from "@std/assert";
import { concat } from "@std/bytes/concat";
import { CorkedSocket } from "./corked_socket.ts";
import { frameHeader, Op } from "./frames.ts";
import { InHandShare } from "./in_hand_share.ts";

const encoder = new TextEncoder();

/**
 * A CorkedSocket on one end of a real loopback TCP connection, a raw client on the other;
 * `writes()` counts the socket's write calls on its connection.
 */
async function pair(
  opts: { stallMs?: number; maxBusy?: number; closeWaitMs?: number; share?: InHandShare } = {},
): Promise<{ socket: CorkedSocket; client: Deno.TcpConn; writes: () => number }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [server, client] = await Promise.all([
    listener.accept(),
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
  ]);
  listener.close();
  let writes = 0;
  // The real connection, with its writes counted: the kernel would merge separate writes into
  // one read, so only the count shows whether frames were corked.
  const counted = new Proxy(server, {
    get(target, key) {
      if (key === "write") {
        return (bytes: Uint8Array) => {
          writes++;
          return target.write(bytes);
        };
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const socket = new CorkedSocket(counted, {
    maxMessageBytes: 1 << 20,
    closeWaitMs: opts.closeWaitMs ?? 100,
    stallMs: opts.stallMs,
    maxBusy: opts.maxBusy,
    share: opts.share,
  });
  return { socket, client, writes: () => writes };
}

/** Start `socket` with handlers that keep every message in hand until released, oldest first. */
function holdMessages(socket: CorkedSocket) {
  const state = { handed: [] as string[], pending: [] as Array<() => void>, closed: false };
  socket.start({
    open() {},
    message: (data) => {
      state.handed.push(data);
      return new Promise<void>((r) => state.pending.push(r));
    },
    binary() {},
    closed: () => state.closed = true,
  });
  return state;
}

/** A masked client frame (mask of zeros keeps the payload as is). */
function clientFrame(op: number, payload: Uint8Array): Uint8Array {
  const head = frameHeader(op, payload.length);
  head[1]! |= 0x80;
  const out = new Uint8Array(head.length + 4 + payload.length);
  out.set(head);
  out.set(payload, head.length + 4);
  return out;
}

Deno.test("CorkedSocket: frames sent in one turn go out in one write, in order", async () => {
  const { socket, client, writes } = await pair();
  let closed = false;
  socket.start({ open() {}, message() {}, binary() {}, closed: () => closed = true });
  for (let i = 0; i < 100; i++) socket.send(`message ${i}`);
  const expected = 100 * 2 + Array.from({ length: 100 }, (_, i) => `message ${i}`.length)
    .reduce((a, b) => a + b);
  const buf = new Uint8Array(65536);
  let got = 0;
  const first = await client.read(buf);
  got += first ?? 0;
  assertEquals(got, expected, "all 100 frames came in the first read");
  assertEquals(writes(), 1, "the 100 frames took more than one write");
  assertEquals(buf[0], 0x81);
  assertEquals(new TextDecoder().decode(buf.subarray(2, 11)), "message 0");
  client.close();
  while (!closed) await new Promise((r) => setTimeout(r, 10));
});

Deno.test("CorkedSocket: a peer that pings without reading does not grow the queue", async () => {
  const { socket, client } = await pair();
  let closed = false;
  socket.start({ open() {}, message() {}, binary() {}, closed: () => closed = true });
  const ping = clientFrame(Op.ping, new Uint8Array(125));
  const batch = new Uint8Array(ping.length * 1000);
  for (let i = 0; i < 1000; i++) batch.set(ping, i * ping.length);
  // 20 MB of pings: their pongs outgrow the kernel's buffers, since this client reads nothing.
  let maxQueued = 0;
  for (let i = 0; i < 160; i++) {
    for (let off = 0; off < batch.length;) off += await client.write(batch.subarray(off));
    maxQueued = Math.max(maxQueued, socket.bufferedAmount);
  }
  assert(maxQueued > 0, "no pong was ever queued");
  assert(maxQueued < 256 * 1024, `pongs queued up to ${maxQueued} bytes`);
  client.close();
  while (!closed) await new Promise((r) => setTimeout(r, 10));
});

Deno.test("CorkedSocket: a peer that sends close but reads nothing is cut once writes stall", async () => {
  const { socket, client } = await pair({ stallMs: 300 });
  let closed = false;
  socket.start({ open() {}, message() {}, binary() {}, closed: () => closed = true });
  // More than the kernel's buffers take: the echo of the close frame stays queued behind it.
  const big = "x".repeat(1 << 20);
  for (let i = 0; i < 40; i++) socket.send(big);
  await new Promise((r) => setTimeout(r, 100));
  assert(socket.bufferedAmount > 0, "everything was written: the test needs a stalled queue");
  for (let off = 0, f = clientFrame(Op.close, Uint8Array.of(0x03, 0xe8)); off < f.length;) {
    off += await client.write(f.subarray(off));
  }
  for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 20));
  assert(closed, "the socket was still open 2 s after the stall limit");
  client.close();
});

Deno.test("CorkedSocket: at most maxBusy messages in hand; the rest wait, in order, and reading stops", async () => {
  const { socket, client } = await pair({ maxBusy: 100 });
  const pending: Array<() => void> = [];
  const handed: string[] = [];
  let inHand = 0;
  let most = 0;
  let closed = false;
  socket.start({
    open() {},
    message: (data) => {
      handed.push(data);
      most = Math.max(most, ++inHand);
      return new Promise<void>((r) =>
        pending.push(() => {
          inHand--;
          r();
        })
      );
    },
    binary() {},
    closed: () => closed = true,
  });
  const frames = (n: number, from: number) =>
    concat(
      Array.from({ length: n }, (_, i) => clientFrame(Op.text, encoder.encode(`m${from + i}`))),
    );
  const write = async (b: Uint8Array) => {
    for (let off = 0; off < b.length;) off += await client.write(b.subarray(off));
  };
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const settle = async (n: number) => {
    pending.splice(0, n).forEach((r) => r());
    await wait(50);
  };
  // Many reads' worth: the socket must stop reading, not hand these out or hold them all.
  await write(frames(3000, 0));
  await wait(200);
  assertEquals(handed.length, 100, "only maxBusy are handed out");
  assert(socket.paused, "reading waits");
  await settle(40);
  assertEquals(handed.length, 140, "each one done lets one more in");
  assertEquals(inHand, 100);
  while (handed.length < 3000) await settle(pending.length);
  await settle(pending.length);
  assertEquals(most, 100, "never more than maxBusy in hand");
  assertEquals(handed, Array.from({ length: 3000 }, (_, i) => `m${i}`), "in order");
  assert(!socket.paused);
  client.close();
  while (!closed) await wait(10);
});

Deno.test("CorkedSocket: a socket paused on its owner still reads the peer's answer to its close", async () => {
  // The default close wait (2 s), which a socket that reads nothing would wait out.
  const { socket, client } = await pair({ maxBusy: 10, closeWaitMs: 2000 });
  let closedAt = 0;
  socket.start({
    open() {},
    message: () => new Promise<void>(() => {}), // never handled
    binary() {},
    closed: () => closedAt = performance.now(),
  });
  const text = clientFrame(Op.text, encoder.encode("x"));
  for (let i = 0; i < 20; i++) await client.write(text);
  await new Promise((r) => setTimeout(r, 100));
  assert(socket.paused);
  const t0 = performance.now();
  socket.close(1001, "going away");
  const buf = new Uint8Array(1024);
  const n = await client.read(buf);
  assertEquals(buf[0], 0x88, `close frame expected, got ${n} bytes`);
  await client.write(clientFrame(Op.close, new Uint8Array([0x03, 0xe9])));
  while (!closedAt) await new Promise((r) => setTimeout(r, 10));
  // Without reading, it would wait out its 2 s close wait.
  assert(closedAt - t0 < 1000, `ended ${Math.round(closedAt - t0)} ms after the close`);
  client.close();
});

Deno.test("CorkedSocket: messages waiting behind maxBusy when the peer closes, or breaks the protocol, are still handed out", async () => {
  const unmasked = new Uint8Array([...frameHeader(Op.text, 1), 0x78]); // RFC 6455 5.1: fails
  for (const last of [clientFrame(Op.close, new Uint8Array([0x03, 0xe8])), unmasked]) {
    const { socket, client } = await pair({ maxBusy: 10 });
    // Never released: still being handled when the end arrives.
    const held = holdMessages(socket);
    const parts = [
      ...Array.from(
        { length: 30 },
        (_, i) => clientFrame(Op.text, encoder.encode(`m${i}`)),
      ),
      last,
    ];
    await client.write(concat(parts)); // one write: the end arrives in the same read as the backlog
    while (!held.closed) await new Promise((r) => setTimeout(r, 10));
    assertEquals(held.handed, Array.from({ length: 30 }, (_, i) => `m${i}`));
    client.close();
  }
});

Deno.test("CorkedSocket: sockets of one share split what may be in hand; one alone may hold it all", async () => {
  const share = new InHandShare(8, 2);
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** A socket of the share whose messages stay in hand until settled, oldest first. */
  const held = async () => {
    const { socket, client } = await pair({ share });
    const state = holdMessages(socket);
    const { handed, pending } = state;
    const send = async (n: number) => {
      const text = clientFrame(Op.text, encoder.encode("m"));
      for (let i = 0; i < n; i++) await client.write(text);
      await wait(100);
    };
    const settle = async (n: number) => {
      pending.splice(0, n).forEach((r) => r());
      await wait(50);
    };
    const end = async () => {
      while (pending.length) await settle(pending.length);
      client.close();
      while (!state.closed) await wait(10);
    };
    return { handed, pending, send, settle, end };
  };
  const a = await held();
  const b = await held();
  const c = await held();
  await a.send(1);
  await b.send(1);
  assertEquals(share.busy, 2);
  await c.send(20);
  assertEquals(c.handed.length, 2, "three busy sockets: a share of 8 / 3 = 2");
  await a.settle(1);
  await b.settle(1);
  assertEquals(share.busy, 1);
  await c.settle(1);
  assertEquals(c.pending.length, 8, "alone again, it may hold the whole share");
  await a.send(6);
  assertEquals(a.pending.length, 4, "a newly busy socket gets its share of 8 / 2");
  await c.settle(5);
  assertEquals(c.pending.length, 4, "its own share, now half, once what it held was done");
  while (c.handed.length < 20) await c.settle(c.pending.length);
  await Promise.all([a.end(), b.end(), c.end()]);
  assertEquals(share.busy, 0, "every socket left the share");
});
