/**
 * @module A TCP listener that takes WebSocket upgrades itself, onto corked sockets, and passes
 * every other connection byte for byte to an HTTP server on loopback (`Deno.serve`), which keeps
 * all of HTTP's rules. Knows nothing of Nostr: the owner decides each upgrade.
 */
import { CloseCode } from "./frames.ts";
import { CorkedSocket, type SocketHandlers } from "./corked_socket.ts";
import { refuseHandshake } from "./handshake.ts";
import { InHandShare } from "./in_hand_share.ts";

/** The owner's answer to an upgrade request: a refusal, or what takes the accepted socket. */
export type UpgradeDecision = Response | ((socket: CorkedSocket) => SocketHandlers);

/** What a corked listener needs. */
export interface CorkedListenerOptions {
  hostname: string;
  port: number;
  /** Share the port with other isolates' listeners (SO_REUSEPORT, Linux). */
  reusePort?: boolean;
  /** Largest client message in bytes (all fragments); a larger one closes with 1009. */
  maxMessageBytes: number;
  /** A peer silent this long gets a ping; silent twice as long, it is closed. 0 for never. */
  idleTimeoutMs: number;
  /** Decide an upgrade; `remote` is the TCP peer. */
  upgrade(req: Request, remote: Deno.NetAddr): UpgradeDecision;
  /** The HTTP server every other connection is passed to. */
  fallback: Deno.NetAddr;
  /** Told the peer's address of each connection passed on, keyed by the pass-through's port. */
  passed?: Map<number, Deno.NetAddr>;
}

/** A running corked listener. */
export interface CorkedListener {
  readonly addr: Deno.NetAddr;
  /** Stop accepting; open sockets stay with their owner. */
  close(): void;
  /** Resolves once no socket of this listener is open. */
  drained(): Promise<void>;
  /** Cut every socket's TCP connection now (the end of a shutdown that waited long enough). */
  terminate(): void;
}

const HEAD_MAX_BYTES = 16 * 1024;
const ACCEPT_RETRY_MS = 100;
/** Reason phrases of the refusals an upgrade can get. */
const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  426: "Upgrade Required",
  431: "Request Header Fields Too Large",
  404: "Not Found",
  429: "Too Many Requests",
  503: "Service Unavailable",
};
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A head asking for a WebSocket, well-formed or not. */
const WS_UPGRADE = /^upgrade[ \t]*:[^\r\n]*\bwebsocket\b/im;
const HEAD_TIMEOUT_MS = 10_000;
const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();

/** Listen on a TCP port for WebSocket clients (and anything else, passed on). */
export function listenCorked(options: CorkedListenerOptions): CorkedListener {
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
    ...(options.reusePort ? { reusePort: true } : {}),
  });
  const sockets = new Set<CorkedSocket>();
  const share = new InHandShare();
  /** Connections still sending their request head: closed with the listener, or they hold it. */
  const arriving = new Set<Deno.TcpConn>();
  let waiters: Array<() => void> = [];
  const onClosed = (socket: CorkedSocket) => {
    sockets.delete(socket);
    if (sockets.size > 0) return;
    for (const w of waiters) w();
    waiters = [];
  };
  const idle = options.idleTimeoutMs;
  // One sweep for all sockets rather than a timer each: 10,000 idle clients cost one interval.
  const sweep = idle > 0
    ? setInterval(() => {
      const now = Date.now();
      for (const s of sockets) {
        if (s.paused) continue; // the relay is busy with what it sent: not idle
        const silent = now - s.lastHeard;
        if (silent >= 2 * idle) s.close(CloseCode.goingAway, "idle timeout");
        else if (silent >= idle && !s.pinged) s.ping();
      }
    }, Math.max(250, Math.min(5000, idle / 4)))
    : undefined;
  let closed = false;
  (async () => {
    while (!closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (closed || err instanceof Deno.errors.BadResource) return;
        // A peer that reset before its accept (NotConnected), or no file descriptors left: the
        // listener itself is fine. Out of descriptors, wait for some to be freed.
        if (!(err instanceof Deno.errors.NotConnected)) await delay(ACCEPT_RETRY_MS);
        continue;
      }
      arriving.add(conn);
      handle(conn, options, { sockets, share }, onClosed, () => arriving.delete(conn)).catch(() => {
        arriving.delete(conn);
        try {
          conn.close();
        } catch { /* already closed */ }
      });
    }
  })();
  return {
    addr: listener.addr as Deno.NetAddr,
    close() {
      closed = true;
      clearInterval(sweep);
      try {
        listener.close();
      } catch { /* already closed */ }
      for (const conn of arriving) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      arriving.clear();
    },
    terminate() {
      for (const socket of sockets) socket.terminate();
    },
    drained: () =>
      sockets.size === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r)),
  };
}

/** Read a connection's request head, then upgrade it or pass it on. */
async function handle(
  conn: Deno.TcpConn,
  options: CorkedListenerOptions,
  { sockets, share }: { sockets: Set<CorkedSocket>; share: InHandShare },
  onClosed: (socket: CorkedSocket) => void,
  arrived: () => void,
): Promise<void> {
  const head = await readHead(conn);
  arrived();
  if (!head) return conn.close();
  const req = upgradeRequest(head.text);
  if (!req) {
    // An upgrade this listener does not take (HTTP/1.0, a head past 16 KiB, a bad header) is
    // refused here: the HTTP server behind would give it Deno's WebSocket, which cannot pause a
    // fast producer (README, "Fast producers"). Anything else is the HTTP server's to answer.
    const oversized = head.text === "";
    const text = oversized ? new TextDecoder().decode(head.bytes) : head.text;
    if (!WS_UPGRADE.test(text)) return passOn(conn, head.bytes, options);
    const refusal = oversized
      ? new Response("Request header fields too large for a WebSocket upgrade", { status: 431 })
      : refuseHandshake(headersOf(text, true)!) ??
        new Response(
          "Bad WebSocket upgrade: RFC 6455 asks GET over HTTP/1.1, well-formed headers",
          {
            status: 400,
          },
        );
    await writeAll(conn, await responseBytes(refusal));
    return conn.close();
  }
  const remote = conn.remoteAddr as Deno.NetAddr;
  const decision = options.upgrade(req, remote);
  if (decision instanceof Response) {
    await writeAll(conn, await responseBytes(decision));
    return conn.close();
  }
  // Corking batches frames already; Nagle would add a delayed-ACK wait to each batch.
  conn.setNoDelay(true);
  const socket = new CorkedSocket(conn, { maxMessageBytes: options.maxMessageBytes, share });
  const accept = await acceptKey(req.headers.get("sec-websocket-key")!);
  const protocol = chosenProtocol(req);
  socket.writeRaw(encoder.encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\n` +
      (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : "") + "\r\n",
  ));
  sockets.add(socket);
  const handlers = decision(socket);
  socket.start({
    ...handlers,
    closed() {
      onClosed(socket);
      handlers.closed();
    },
  }, head.bytes.subarray(head.end));
}

/** The request head (up to the blank line) and whatever bytes followed it. */
async function readHead(
  conn: Deno.Conn,
): Promise<{ text: string; bytes: Uint8Array; end: number } | undefined> {
  let bytes = new Uint8Array(4096);
  let len = 0;
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* already closed */ }
  }, HEAD_TIMEOUT_MS);
  try {
    while (len < HEAD_MAX_BYTES) {
      if (len === bytes.length) {
        const grown = new Uint8Array(bytes.length * 2);
        grown.set(bytes);
        bytes = grown;
      }
      const n = await conn.read(bytes.subarray(len));
      if (n === null) return undefined;
      const from = Math.max(0, len - 3);
      len += n;
      // The blank line ends the head: CRLF CRLF, or bare LFs, which RFC 9112 lets a server accept.
      for (let i = from; i + 1 < len; i++) {
        if (bytes[i] !== 10) continue;
        const end = bytes[i + 1] === 10
          ? i + 2
          : bytes[i + 1] === 13 && bytes[i + 2] === 10
          ? i + 3
          : 0;
        if (!end) continue;
        const text = new TextDecoder().decode(bytes.subarray(0, i)).replace(/\r$/, "");
        return { text, bytes: bytes.subarray(0, len), end };
      }
    }
    // Too long for a WebSocket handshake: let the HTTP server answer it.
    return { text: "", bytes: bytes.subarray(0, len), end: len };
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The request, if the head is a WebSocket upgrade we take (RFC 6455 section 4.2.1): GET over
 * HTTP/1.1 with `Upgrade: websocket`, `Connection: upgrade`, and what refuseHandshake checks.
 * Anything else, well-formed or not, is the HTTP server's to answer.
 */
function upgradeRequest(head: string): Request | undefined {
  const m = /^GET (\S+) HTTP\/1\.1$/.exec(head.split(/\r?\n/, 1)[0] ?? "");
  if (!m) return undefined;
  // A malformed header line makes the head the HTTP server's to refuse.
  const headers = headersOf(head);
  if (!headers) return undefined;
  const tokens = (name: string) =>
    (headers.get(name) ?? "").toLowerCase().split(",").map((t) => t.trim());
  if (!tokens("upgrade").includes("websocket") || !tokens("connection").includes("upgrade")) {
    return undefined;
  }
  // The HTTP server refuses the rest, by the same checks.
  if (refuseHandshake(headers)) return undefined;
  const target = m[1]!;
  const host = headers.get("host")!;
  try {
    return new Request(
      target.startsWith("/") ? `http://${host}${target}` : target,
      { headers },
    );
  } catch {
    return undefined;
  }
}

/**
 * The header lines of a request head (the request line skipped): undefined at the first malformed
 * line (a space before the colon, RFC 9112 section 5.1, or a value Headers refuses), or with
 * `lenient` that line skipped.
 */
function headersOf(head: string, lenient = false): Headers | undefined {
  const headers = new Headers();
  for (const line of head.split(/\r?\n/).slice(1)) {
    const colon = line.indexOf(":");
    try {
      if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) throw new Error("malformed");
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    } catch {
      if (!lenient) return undefined;
    }
  }
  return headers;
}

/**
 * The subprotocol to answer with: the client's first. Nostr defines none, but browsers and the
 * `ws` package fail a connection whose 101 does not name one they offered.
 */
export function chosenProtocol(req: Request): string | undefined {
  const first = req.headers.get("sec-websocket-protocol")?.split(",")[0]?.trim();
  return first && TOKEN.test(first) ? first : undefined;
}

/** Sec-WebSocket-Accept for a client's key. */
async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + WS_GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** A refusal as HTTP/1.1 bytes; the connection closes after it. */
async function responseBytes(res: Response): Promise<Uint8Array> {
  const body = new Uint8Array(await res.arrayBuffer());
  let head = `HTTP/1.1 ${res.status} ${res.statusText || STATUS_TEXT[res.status] || "Error"}\r\n`;
  for (const [k, v] of res.headers) head += `${k}: ${v}\r\n`;
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  const out = new Uint8Array(encoder.encode(head).length + body.length);
  const h = encoder.encode(head);
  out.set(h);
  out.set(body, h.length);
  return out;
}

/** Relay a connection to the HTTP server, starting with the bytes already read. */
async function passOn(
  conn: Deno.Conn,
  first: Uint8Array,
  options: CorkedListenerOptions,
): Promise<void> {
  let upstream: Deno.Conn;
  try {
    upstream = await Deno.connect({
      hostname: options.fallback.hostname,
      port: options.fallback.port,
    });
  } catch {
    return conn.close();
  }
  const port = (upstream.localAddr as Deno.NetAddr).port;
  options.passed?.set(port, conn.remoteAddr as Deno.NetAddr);
  try {
    await writeAll(upstream, first);
    // Once the HTTP server has ended its side it is done with the connection: so are we, rather
    // than wait for a client that may hold its socket open.
    const clientSide = pump(conn, upstream);
    await pump(upstream, conn);
    void clientSide;
  } finally {
    options.passed?.delete(port);
    for (const c of [conn, upstream]) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
  }
}

/** Copy one direction until its end, then half-close the other side. */
async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  try {
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
      await writeAll(to, buf.subarray(0, n));
    }
  } catch { /* either side gone */ }
  try {
    await to.closeWrite();
  } catch { /* already closed */ }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}
