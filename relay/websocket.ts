/** @module Binds a Deno WebSocket to a Connection, capping what a slow reader can make us buffer. */
import { Connection } from "./connection.ts";
import type { Relay } from "./relay.ts";

/** Attach a relay connection to an upgraded socket. */
export function attachSocket(
  relay: Relay,
  socket: WebSocket,
  ip: string,
  relayUrl: string,
): Connection {
  let closing = false;
  const conn = new Connection(
    relay,
    {
      send(data) {
        if (socket.readyState !== WebSocket.OPEN || closing) return;
        if (socket.bufferedAmount > relay.config.maxBufferedBytes) {
          closing = true;
          socket.send(
            JSON.stringify(["NOTICE", "error: you are not reading fast enough, closing"]),
          );
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
    },
    ip,
    relayUrl,
  );
  socket.onopen = () => conn.open();
  socket.onmessage = (e) => void conn.message(e.data);
  // The runtime may report a close twice (idle timeout path); Connection.close is idempotent.
  socket.onclose = () => conn.close();
  socket.onerror = () => conn.close();
  return conn;
}
