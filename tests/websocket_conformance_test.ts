/**
 * WebSocket conformance (RFC 6455) of every relay transport, as a black box: a raw TCP client does
 * the HTTP/1.1 upgrade and the framing by hand, so fragments, length forms, control frames,
 * protocol errors and TCP segmentation are exactly what each test says they are.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { concat } from "@std/bytes/concat";
import { finalizeEvent, generateSecretKey } from "nostr-tools";
import { startRelay, type TestRelay } from "./helpers.ts";

/** Frame opcodes (RFC 6455 §5.2). */
const OP = { cont: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;
/** The GUID the server appends to the key for Sec-WebSocket-Accept (RFC 6455 §1.3). */
const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** How long any single wait may take before the test fails. */
const WAIT_MS = 3000;

const encoder = new TextEncoder();
/** Fatal, so a server that sends invalid UTF-8 in a text frame fails the test. */
const decoder = new TextDecoder("utf-8", { fatal: true });

/** One decoded frame. */
interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
}

/** What may be changed in a frame the client sends. */
interface FrameOpts {
  /** FIN bit; true unless a fragment. */
  fin?: boolean;
  /** RSV1..3 as a 3-bit number (4 = RSV1). */
  rsv?: number;
  /** Mask the payload, as a client must; false to break the rule. */
  mask?: boolean;
}

/** Encode one client frame with the shortest length form, masked unless told otherwise. */
function encodeFrame(opcode: number, payload: Uint8Array, opts: FrameOpts = {}): Uint8Array {
  const mask = opts.mask ?? true;
  const n = payload.length;
  const lenBytes = n < 126 ? 0 : n <= 0xffff ? 2 : 8;
  const head = 2 + lenBytes + (mask ? 4 : 0);
  const out = new Uint8Array(head + n);
  out[0] = ((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) & 7) << 4 | (opcode & 0xf);
  const view = new DataView(out.buffer);
  if (lenBytes === 0) out[1] = n;
  else if (lenBytes === 2) {
    out[1] = 126;
    view.setUint16(2, n);
  } else {
    out[1] = 127;
    view.setBigUint64(2, BigInt(n));
  }
  if (!mask) {
    out.set(payload, head);
    return out;
  }
  out[1] |= 0x80;
  const key = crypto.getRandomValues(new Uint8Array(4));
  out.set(key, head - 4);
  for (let i = 0; i < n; i++) out[head + i] = payload[i]! ^ key[i & 3]!;
  return out;
}

/** Decode the frame at the front of a buffer, or undefined while it is incomplete. */
function decodeFrame(buf: Uint8Array): { frame: Frame; size: number } | undefined {
  if (buf.length < 2) return undefined;
  const b0 = buf[0]!, b1 = buf[1]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let n = b1 & 0x7f, at = 2;
  if (n === 126) {
    if (buf.length < 4) return undefined;
    n = view.getUint16(2);
    at = 4;
  } else if (n === 127) {
    if (buf.length < 10) return undefined;
    n = Number(view.getBigUint64(2));
    at = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  const key = masked ? buf.slice(at, at + 4) : undefined;
  if (masked) at += 4;
  if (buf.length < at + n) return undefined;
  const payload = buf.slice(at, at + n);
  if (key) { for (let i = 0; i < n; i++) payload[i]! ^= key[i & 3]!; }
  const frame = { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xf, masked, payload };
  return { frame, size: at + n };
}

/** A close frame's payload: the status code, then the UTF-8 reason. */
function closePayload(code: number, why = ""): Uint8Array {
  const text = encoder.encode(why);
  const out = new Uint8Array(2 + text.length);
  new DataView(out.buffer).setUint16(0, code);
  out.set(text, 2);
  return out;
}

/** The status code of a close frame's payload, or undefined when it has none. */
function closeCode(payload: Uint8Array): number | undefined {
  return payload.length >= 2 ? payload[0]! << 8 | payload[1]! : undefined;
}

/** The Sec-WebSocket-Accept a server must answer a key with. */
async function acceptFor(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + WS_GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** Resolve after some milliseconds. */
function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

/** A raw WebSocket client over TCP: every read bounded by a timeout, every write byte-exact. */
class RawWs {
  /** Status code of the upgrade response. */
  status = 0;
  /** Upgrade response headers, names lower-cased. */
  readonly headers = new Map<string, string>();
  /** The key sent in the upgrade request. */
  readonly key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  /** True once the server ended the TCP connection (EOF or reset). */
  ended = false;
  #buf: Uint8Array = new Uint8Array(0);
  #pending: Promise<Uint8Array | null> | undefined;
  #closed = false;

  private constructor(readonly conn: Deno.TcpConn) {}

  /** Open a TCP connection to the relay and upgrade it; fails unless the answer is complete. */
  static async open(
    r: TestRelay,
    extraHeaders = "",
    eol = "\r\n",
    edit: (lines: string[]) => string[] = (lines) => lines,
  ): Promise<RawWs> {
    const port = Number(new URL(r.url).port);
    const ws = new RawWs(await Deno.connect({ hostname: "127.0.0.1", port }));
    try {
      ws.conn.setNoDelay(true);
      await ws.write(encoder.encode(
        [
          ...edit([
            "GET / HTTP/1.1",
            `Host: 127.0.0.1:${port}`,
            "Upgrade: websocket",
            "Connection: Upgrade",
            `Sec-WebSocket-Key: ${ws.key}`,
            "Sec-WebSocket-Version: 13",
            ...(extraHeaders ? [extraHeaders] : []),
          ]),
          "",
          "",
        ].join(eol),
      ));
      await ws.#readHead();
    } catch (err) {
      await ws.close();
      throw err;
    }
    return ws;
  }

  /** Open and read the relay's greeting, the NIP-42 AUTH challenge. */
  static async ready(r: TestRelay): Promise<RawWs> {
    const ws = await RawWs.open(r);
    try {
      const first = await ws.nextFrame();
      assertEquals(first.opcode, OP.text);
      assertEquals(JSON.parse(decoder.decode(first.payload))[0], "AUTH");
    } catch (err) {
      await ws.close();
      throw err;
    }
    return ws;
  }

  /** Write all the bytes. */
  async write(bytes: Uint8Array): Promise<void> {
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }

  /** Send one frame (see FrameOpts); a string payload is sent as UTF-8. */
  async send(opcode: number, payload: Uint8Array | string, opts?: FrameOpts): Promise<void> {
    const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
    await this.write(encodeFrame(opcode, bytes, opts));
  }

  /** Send a JSON message as one text frame. */
  async sendJson(msg: unknown[]): Promise<void> {
    await this.send(OP.text, JSON.stringify(msg));
  }

  /** Read the next frame, or null once the server ended the connection. */
  async readFrame(ms = WAIT_MS): Promise<Frame | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const got = decodeFrame(this.#buf);
      if (got) {
        this.#buf = this.#buf.slice(got.size);
        return got.frame;
      }
      if (!await this.#fill(deadline)) {
        assertEquals(this.#buf.length, 0, "the connection ended inside a frame");
        return null;
      }
    }
  }

  /** Read the next frame; fails if the server ended the connection instead. */
  async nextFrame(ms = WAIT_MS): Promise<Frame> {
    const f = await this.readFrame(ms);
    if (!f) throw new Error("the connection ended");
    return f;
  }

  /**
   * Read until a JSON text message satisfies `done`: the messages read (the last one included)
   * and the payloads of the pongs met on the way. Reassembles fragments, answers pings; fails on
   * a close, EOF, a binary or malformed frame.
   */
  async collect(
    done: (m: unknown[]) => boolean,
    ms = WAIT_MS,
  ): Promise<{ messages: unknown[][]; pongs: string[] }> {
    const deadline = Date.now() + ms;
    const messages: unknown[][] = [], pongs: string[] = [];
    let parts: Uint8Array[] | undefined;
    for (;;) {
      const f = await this.readFrame(deadline - Date.now());
      if (!f) throw new Error(`the connection ended; seen: ${JSON.stringify(messages)}`);
      assert(!f.masked, "the relay sent a masked frame");
      assertEquals(f.rsv, 0, "the relay set RSV bits");
      if (f.opcode === OP.pong) pongs.push(decoder.decode(f.payload));
      else if (f.opcode === OP.ping) await this.send(OP.pong, f.payload);
      else if (f.opcode === OP.text || f.opcode === OP.cont) {
        if ((f.opcode === OP.text) !== (parts === undefined)) {
          throw new Error("the relay broke the fragment sequence");
        }
        (parts ??= []).push(f.payload);
        if (!f.fin) continue;
        const text = decoder.decode(concat(parts));
        parts = undefined;
        const m = JSON.parse(text);
        assert(Array.isArray(m), `not a JSON array: ${text}`);
        messages.push(m);
        if (done(m)) return { messages, pongs };
      } else throw new Error(`unexpected opcode ${f.opcode} (code ${closeCode(f.payload)})`);
    }
  }

  /** Read until a JSON message satisfies `pred`, and return it. */
  async take(pred: (m: unknown[]) => boolean, ms = WAIT_MS): Promise<unknown[]> {
    return (await this.collect(pred, ms)).messages.at(-1)!;
  }

  /** Send a REQ and wait for its EOSE. */
  async reqEose(id: string, filter: Record<string, unknown> = { limit: 0 }): Promise<void> {
    await this.sendJson(["REQ", id, filter]);
    await this.take((m) => m[0] === "EOSE" && m[1] === id);
  }

  /**
   * Read until the server ends the TCP connection, answering its close frame as a client must;
   * the code of the first close frame received, or undefined when there was none. Fails after ms.
   */
  async waitEnd(ms = WAIT_MS): Promise<number | undefined> {
    const deadline = Date.now() + ms;
    let code: number | undefined, answered = false;
    const seen: string[] = [];
    for (;;) {
      let f: Frame | null;
      try {
        f = await this.readFrame(deadline - Date.now());
      } catch (err) {
        throw new Error(`the relay did not end the connection; it sent: ${seen.join(", ")}`, {
          cause: err,
        });
      }
      if (!f) return code;
      seen.push(f.opcode === OP.text ? decoder.decode(f.payload).slice(0, 80) : `op ${f.opcode}`);
      if (f.opcode !== OP.close) continue;
      if (code === undefined) code = closeCode(f.payload) ?? 1005;
      if (!answered) {
        answered = true;
        await this.send(OP.close, closePayload(code === 1005 ? 1000 : code)).catch(() => {});
      }
    }
  }

  /** Close the TCP connection and settle a read in flight; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    await this.#pending?.catch(() => null);
  }

  /** Read the upgrade response head; bytes after it (frames) stay buffered. */
  async #readHead(): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    let end: number;
    while ((end = indexOfCrlf2(this.#buf)) < 0) {
      if (!await this.#fill(deadline)) throw new Error("the connection ended during the upgrade");
    }
    const lines = new TextDecoder().decode(this.#buf.subarray(0, end)).split("\r\n");
    this.#buf = this.#buf.slice(end + 4);
    const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? "");
    if (!status) throw new Error(`bad status line: ${lines[0]}`);
    this.status = Number(status[1]);
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      this.headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }

  /** Read more bytes into the buffer: false at EOF, an error after the deadline. */
  async #fill(deadline: number): Promise<boolean> {
    if (this.ended) return false;
    const chunk = new Uint8Array(65536);
    this.#pending ??= this.conn.read(chunk).then((n) => n === null ? null : chunk.subarray(0, n))
      .catch((err) => {
        // A reset ends the connection as an EOF does.
        if (err instanceof Deno.errors.ConnectionReset) return null;
        throw err;
      });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((res) => {
      timer = setTimeout(() => res("timeout"), Math.max(0, deadline - Date.now()));
    });
    try {
      const got = await Promise.race([this.#pending, timeout]);
      if (got === "timeout") throw new Error("timed out waiting for the relay");
      this.#pending = undefined;
      if (got === null) {
        this.ended = true;
        return false;
      }
      this.#buf = concat([this.#buf, got]);
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Where the blank line ending an HTTP head starts, or -1. */
function indexOfCrlf2(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/** A signed kind 1 event. */
function signedNote(content: string) {
  return finalizeEvent(
    { kind: 1, tags: [], content, created_at: Math.floor(Date.now() / 1000) },
    generateSecretKey(),
  );
}

/** What a test body gets: the relay, and a way to open raw sockets closed for it afterwards. */
interface Ctx {
  r: TestRelay;
  /**
   * Connect and upgrade (with extra header lines, other line endings, or the request's lines
   * edited), reading no frame.
   */
  open(
    extraHeaders?: string,
    eol?: string,
    edit?: (lines: string[]) => string[],
  ): Promise<RawWs>;
  /** Connect, upgrade and read the AUTH greeting. */
  ready(): Promise<RawWs>;
}

for (const transport of ["deno", "corked"]) {
  /** One test against a fresh relay on this transport; sockets closed, relay disposed. */
  const wsTest = (name: string, fn: (ctx: Ctx) => Promise<void>) =>
    Deno.test(`websocket (${transport}): ${name}`, async () => {
      const r = await startRelay({ NEXUS_TRANSPORT: transport });
      const sockets: RawWs[] = [];
      const track = (ws: RawWs) => (sockets.push(ws), ws);
      try {
        await fn({
          r,
          open: async (extra, eol, edit) => track(await RawWs.open(r, extra, eol, edit)),
          ready: async () => track(await RawWs.ready(r)),
        });
      } finally {
        for (const ws of sockets) await ws.close();
        await r.dispose();
      }
    });

  /** Send one bad frame on a fresh connection and require the relay to end it in time. */
  const endsConnection = (name: string, codes: number[], frame: () => Uint8Array) =>
    wsTest(`${name} ends the connection`, async ({ ready }) => {
      const ws = await ready();
      await ws.write(frame());
      const code = await ws.waitEnd();
      assert(code === undefined || codes.includes(code), `closed with code ${code}`);
    });

  wsTest("the upgrade answers 101 with the right accept, then the AUTH challenge", async (c) => {
    const ws = await c.open();
    assertEquals(ws.status, 101);
    assertEquals(ws.headers.get("upgrade")?.toLowerCase(), "websocket");
    assertMatch(ws.headers.get("connection") ?? "", /\bupgrade\b/i);
    assertEquals(ws.headers.get("sec-websocket-accept"), await acceptFor(ws.key));
    const f = await ws.nextFrame();
    assertEquals([f.fin, f.rsv, f.opcode, f.masked], [true, 0, OP.text, false]);
    const msg = JSON.parse(decoder.decode(f.payload));
    assertEquals(msg.length, 2);
    assertEquals(msg[0], "AUTH");
    assertMatch(msg[1], /^\S{8,}$/);
  });

  wsTest("a REQ in one text frame gets EOSE", async (c) => {
    await (await c.ready()).reqEose("one");
  });

  wsTest("a REQ in three fragments gets EOSE", async (c) => {
    const ws = await c.ready();
    const req = encoder.encode(JSON.stringify(["REQ", "frag", { kinds: [1], limit: 5 }]));
    await ws.send(OP.text, req.subarray(0, 5), { fin: false });
    await ws.send(OP.cont, req.subarray(5, 12), { fin: false });
    await ws.send(OP.cont, req.subarray(12));
    await ws.take((m) => m[0] === "EOSE" && m[1] === "frag");
  });

  wsTest("a ping between fragments gets its pong and the message completes", async (c) => {
    const ws = await c.ready();
    const req = encoder.encode(JSON.stringify(["REQ", "frag", { kinds: [1], limit: 5 }]));
    await ws.send(OP.text, req.subarray(0, 5), { fin: false });
    await ws.send(OP.ping, "between");
    await ws.send(OP.cont, req.subarray(5, 12), { fin: false });
    await ws.send(OP.cont, req.subarray(12));
    const got = await ws.collect((m) => m[0] === "EOSE" && m[1] === "frag");
    assertEquals(got.pongs, ["between"]);
  });

  wsTest("an EVENT in a 16-bit length frame is accepted", async (c) => {
    const ws = await c.ready();
    const ev = signedNote("x".repeat(2000));
    const frame = encodeFrame(OP.text, encoder.encode(JSON.stringify(["EVENT", ev])));
    assertEquals(frame[1]! & 0x7f, 126);
    await ws.write(frame);
    const ok = await ws.take((m) => m[0] === "OK" && m[1] === ev.id);
    assertEquals(ok[2], true, String(ok[3]));
  });

  wsTest("an EVENT in a 64-bit length frame is refused, the connection lives on", async (c) => {
    const ws = await c.ready();
    const ev = signedNote("y".repeat(70_000));
    const frame = encodeFrame(OP.text, encoder.encode(JSON.stringify(["EVENT", ev])));
    assertEquals(frame[1]! & 0x7f, 127);
    await ws.write(frame);
    const ok = await ws.take((m) => m[0] === "OK" && m[1] === ev.id);
    assertEquals(ok[2], false);
    assertMatch(String(ok[3]), /^invalid:/);
    await ws.reqEose("after");
  });

  wsTest("50 REQs in one TCP write each get their EOSE", async (c) => {
    const ws = await c.ready();
    const ids = Array.from({ length: 50 }, (_, i) => `s${i}`);
    const frames = ids.map((id) =>
      encodeFrame(OP.text, encoder.encode(JSON.stringify(["REQ", id, { limit: 0 }])))
    );
    await ws.write(concat(frames));
    const eose = new Set<string>();
    await ws.collect((m) => (m[0] === "EOSE" && eose.add(String(m[1])), eose.size === 50));
    assertEquals([...eose].sort(), [...ids].sort());
  });

  wsTest("a frame written one byte at a time is understood", async (c) => {
    const ws = await c.ready();
    const frame = encodeFrame(OP.text, encoder.encode(JSON.stringify(["REQ", "drip", {}])));
    for (let i = 0; i < frame.length; i++) {
      await ws.write(frame.subarray(i, i + 1));
      await sleep(3);
    }
    await ws.take((m) => m[0] === "EOSE" && m[1] === "drip");
  });

  wsTest("a ping gets a pong with the same payload", async (c) => {
    const ws = await c.ready();
    await ws.send(OP.ping, "are you there?");
    const f = await ws.nextFrame();
    assertEquals([f.fin, f.opcode, f.masked], [true, OP.pong, false]);
    assertEquals(decoder.decode(f.payload), "are you there?");
  });

  wsTest("a client close 1000 is answered with close 1000, then TCP ends", async (c) => {
    const ws = await c.ready();
    await ws.send(OP.close, closePayload(1000, "bye"));
    const f = await ws.nextFrame();
    assertEquals(f.opcode, OP.close);
    assertEquals(closeCode(f.payload), 1000);
    assertEquals(await ws.readFrame(), null);
  });

  // Deno's own WebSocket (Deno 2.9.6) reads unmasked client frames, against RFC 6455 section
  // 5.1; the corked transport refuses them.
  if (transport === "corked") {
    endsConnection(
      "an unmasked client frame",
      [1002],
      () => encodeFrame(OP.text, encoder.encode(JSON.stringify(["REQ", "u", {}])), { mask: false }),
    );
  }
  endsConnection(
    "a frame with RSV1 set",
    [1002],
    () => encodeFrame(OP.text, encoder.encode(JSON.stringify(["REQ", "r", {}])), { rsv: 4 }),
  );
  endsConnection(
    "a continuation frame with no message started",
    [1002],
    () => encodeFrame(OP.cont, encoder.encode(JSON.stringify(["REQ", "c", {}]))),
  );
  endsConnection(
    "a ping with 126 bytes of payload",
    [1002],
    () => encodeFrame(OP.ping, new Uint8Array(126).fill(0x61)),
  );
  endsConnection(
    "a text frame of invalid UTF-8",
    [1007],
    () => encodeFrame(OP.text, new Uint8Array([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d])),
  );

  wsTest("a binary frame gets an invalid: NOTICE, the connection lives on", async (c) => {
    const ws = await c.ready();
    await ws.send(OP.binary, encoder.encode(JSON.stringify(["REQ", "bin", {}])));
    const notice = await ws.take((m) => m[0] === "NOTICE");
    assertMatch(String(notice[1]), /^invalid:/);
    await ws.reqEose("after");
  });

  wsTest("the relay shutting down sends close 1001", async (c) => {
    const ws = await c.ready();
    await ws.reqEose("live", { kinds: [1] });
    const closing = c.r.nexus.close();
    try {
      let f = await ws.nextFrame();
      while (f.opcode !== OP.close) f = await ws.nextFrame();
      assertEquals(closeCode(f.payload), 1001);
      await ws.send(OP.close, closePayload(1001)).catch(() => {});
      assertEquals(await ws.waitEnd(), undefined);
    } finally {
      await closing;
    }
  });

  wsTest("a live event reaches another connection's subscription once", async (c) => {
    const a = await c.ready(), b = await c.ready();
    await a.reqEose("feed", { kinds: [1] });
    const ev = signedNote("fan-out");
    await b.sendJson(["EVENT", ev]);
    const ok = await b.take((m) => m[0] === "OK" && m[1] === ev.id);
    assertEquals(ok[2], true, String(ok[3]));
    const first = await a.take((m) => m[0] === "EVENT" && m[1] === "feed");
    assertEquals((first[2] as { id: string }).id, ev.id);
    // Everything sent before the sync's EOSE has arrived: no second copy is on its way.
    await a.sendJson(["REQ", "sync", { limit: 0 }]);
    const rest = await a.collect((m) => m[0] === "EOSE" && m[1] === "sync");
    assertEquals(rest.messages.filter((m) => m[0] === "EVENT").length, 0);
  });

  wsTest("plain HTTP on the same port: NIP-11, /api/stats, keep-alive", async ({ r }) => {
    const info = await fetch(r.http, { headers: { accept: "application/nostr+json" } });
    assertEquals(info.status, 200);
    const doc = await info.json();
    assertEquals(typeof doc.limitation, "object");
    assert(doc.limitation !== null);
    for (let i = 0; i < 2; i++) {
      const stats = await fetch(r.http + "/api/stats");
      assertEquals(stats.status, 200);
      assertMatch(stats.headers.get("content-type") ?? "", /json/);
      assertEquals(typeof await stats.json(), "object");
    }
  });

  wsTest("a client offering subprotocols gets its first one named in the 101", async (c) => {
    const ws = await c.open("Sec-WebSocket-Protocol: nostr, other");
    assertEquals(ws.status, 101);
    assertEquals(ws.headers.get("sec-websocket-protocol"), "nostr");
  });

  wsTest("a handshake with bare LF line endings is upgraded", async (c) => {
    const ws = await c.open("", "\n");
    assertEquals(ws.status, 101);
  });

  wsTest(
    "a handshake RFC 6455 does not allow is refused, and the relay still upgrades",
    async (c) => {
      const header = (name: string, value?: string) => (lines: string[]) =>
        lines.flatMap((l) =>
          l.toLowerCase().startsWith(name.toLowerCase() + ":")
            ? (value === undefined ? [] : [`${name}: ${value}`])
            : [l]
        );
      const other = await c.open("", "\r\n", header("Sec-WebSocket-Version", "8"));
      assertEquals(other.status, 426, "another version: Upgrade Required");
      assertEquals(other.headers.get("sec-websocket-version"), "13", "naming the one understood");
      assertEquals(other.headers.get("upgrade"), "websocket", "426 names the protocol (RFC 9110)");
      for (
        const [edit, what] of [
          [header("Sec-WebSocket-Version"), "no version"],
          [header("Sec-WebSocket-Key", "abc"), "a key that is not 16 bytes"],
          [header("Sec-WebSocket-Key"), "no key"],
          [header("Host"), "no Host"],
        ] as const
      ) {
        assertEquals((await c.open("", "\r\n", edit)).status, 400, what);
      }
      assertEquals((await c.ready()).status, 101);
    },
  );

  wsTest("a header with a space before its colon is refused with 400", async (c) => {
    const ws = await c.open("X-Bad : value");
    assertEquals(ws.status, 400);
  });

  wsTest(
    "connections reset before they were accepted do not stop the listener",
    async ({ r, ready }) => {
      const port = new URL(r.url).port;
      // Only a peer that resets (SO_LINGER 0) makes accept() fail; Deno cannot send a reset itself.
      const py = "import socket,struct,sys\nfor i in range(20):\n" +
        "  s=socket.create_connection(('127.0.0.1',int(sys.argv[1])))\n" +
        "  s.setsockopt(socket.SOL_SOCKET,socket.SO_LINGER,struct.pack('ii',1,0))\n  s.close()\n";
      const out = await new Deno.Command("python3", { args: ["-c", py, port] }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
      await new Promise((res) => setTimeout(res, 200));
      for (let i = 0; i < 5; i++) await (await ready()).close();
    },
  );

  wsTest(
    "plain HTTP: a connection the server closed is closed, not left half-open",
    async ({ r }) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(r.url).port) });
      try {
        await conn.write(encoder.encode(
          "GET /api/stats HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n",
        ));
        const buf = new Uint8Array(65536);
        let text = "";
        for (let n; (n = await conn.read(buf)) !== null;) {
          text += decoder.decode(buf.subarray(0, n));
        }
        assertMatch(text, /^HTTP\/1\.1 200/);
        // A fully closed peer answers a write with a reset; a half-open one would take it.
        await conn.write(encoder.encode("x")).catch(() => 0);
        await new Promise((res) => setTimeout(res, 200));
        let reset = false;
        try {
          await conn.write(encoder.encode("y"));
          await conn.read(buf);
        } catch (err) {
          reset = err instanceof Deno.errors.ConnectionReset ||
            err instanceof Deno.errors.BrokenPipe;
        }
        assert(reset, "the relay kept its end of the connection open");
      } finally {
        conn.close();
      }
    },
  );
}

Deno.test("websocket (corked): an upgrade the listener declines is refused by it, not passed to Deno's unpausable WebSocket", async () => {
  const r = await startRelay({ NEXUS_TRANSPORT: "corked" });
  const sockets: RawWs[] = [];
  try {
    const http10 = await RawWs.open(
      r,
      "",
      "\r\n",
      (lines) => ["GET / HTTP/1.0", ...lines.slice(1)],
    );
    sockets.push(http10);
    assertEquals(http10.status, 400, "RFC 6455 asks HTTP/1.1");
    const padded = await RawWs.open(r, `X-Pad: ${"p".repeat(17_000)}`);
    sockets.push(padded);
    assertEquals(padded.status, 431, "a head past the listener's 16 KiB");
    // A reverse proxy reuses its kept-alive connections for upgrades too: after a plain request,
    // the upgrade reaches the HTTP server behind the listener, which still serves it.
    const port = Number(new URL(r.url).port);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const key = btoa("0123456789abcdef");
      await conn.write(encoder.encode(
        `GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n` +
          `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ));
      const buf = new Uint8Array(65536);
      let text = "";
      while (!/HTTP\/1\.1 \d{3}[^]*HTTP\/1\.1 \d{3}/.test(text)) {
        const n = await conn.read(buf);
        if (n === null) break;
        // Latin-1: the 101 is followed by a frame, which is not UTF-8.
        text += new TextDecoder("latin1").decode(buf.subarray(0, n));
      }
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
      assertEquals(statuses, ["200", "101"], "a kept-alive connection's upgrade is served");
    } finally {
      conn.close();
    }
    const ok = await RawWs.ready(r);
    sockets.push(ok);
    assertEquals(ok.status, 101, "a proper upgrade still works");
  } finally {
    for (const ws of sockets) await ws.close();
    await r.dispose();
  }
});

Deno.test("websocket (corked): a connection that never sends its request head does not outlive the relay", async () => {
  const r = await startRelay({ NEXUS_TRANSPORT: "corked" });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(r.url).port) });
  try {
    await new Promise((res) => setTimeout(res, 100));
    // Without the listener closing it, its head read and 10 s timer stay pending (the test's
    // sanitizers report them) and keep a shut-down isolate alive.
    await r.dispose();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = await Promise.race([
      conn.read(new Uint8Array(16)).catch(() => null).then((n) => n === null),
      new Promise<false>((res) => timer = setTimeout(() => res(false), 2000)),
    ]);
    clearTimeout(timer);
    assert(ended, "the relay kept a connection that had sent no head open after shutting down");
  } finally {
    conn.close();
  }
});
