/**
 * @module Binds a WebSocket (Deno's own, or the corked transport's) to a Connection, capping what
 * a slow reader can make us buffer.
 */
import { Connection, SLOW_CONSUMER } from "./connection.ts";
import type { Relay } from "./relay.ts";

/** The socket a connection writes to. */
export interface RelaySocket {
  /** False once a close has started, from either side. */
  readonly open: boolean;
  /** Bytes sent but not yet written to the network. */
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code: number, reason?: string): void;
}

/** What the socket's events call. */
export interface SocketEvents {
  open(): void;
  /** Settles once the message is handled (a transport may wait before reading more). */
  message(data: string | ArrayBuffer | Blob | Uint8Array): Promise<void>;
  closed(): void;
}

/** Attach a relay connection to an upgraded socket; the transport calls the returned events. */
export function attachSocket(
  relay: Relay,
  socket: RelaySocket,
  ip: string,
  relayUrl: string,
): SocketEvents {
  let closing = false;
  const conn = new Connection(
    relay,
    {
      send(data) {
        if (!socket.open || closing) return;
        if (socket.bufferedAmount > relay.config.maxBufferedBytes) {
          closing = true;
          socket.send(JSON.stringify(["NOTICE", SLOW_CONSUMER]));
          socket.close(1008, "slow consumer");
          conn.close();
          return;
        }
        socket.send(data);
      },
      close(code, why) {
        closing = true;
        try {
          socket.close(code ?? 1000, why);
        } catch { /* already closed */ }
        conn.close();
      },
      get bufferedAmount() {
        return socket.bufferedAmount;
      },
      get open() {
        return socket.open && !closing;
      },
    },
    ip,
    relayUrl,
  );
  return {
    open: () => conn.open(),
    message: (data) => conn.message(data),
    // A transport may report a close twice (Deno's idle timeout path); close() is idempotent.
    closed: () => conn.close(),
  };
}

/** Attach a relay connection to Deno's own WebSocket. */
export function attachDenoSocket(
  relay: Relay,
  ws: WebSocket,
  ip: string,
  relayUrl: string,
): void {
  const events = attachSocket(
    relay,
    {
      get open() {
        return ws.readyState === WebSocket.OPEN;
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      send: (data) => ws.send(data),
      close: (code, reason) => ws.close(code, reason),
    },
    ip,
    relayUrl,
  );
  ws.onopen = events.open;
  // Deno's WebSocket cannot stop reading: its messages are handled as they come.
  ws.onmessage = (e) => void events.message(e.data);
  ws.onclose = events.closed;
  ws.onerror = events.closed;
}
