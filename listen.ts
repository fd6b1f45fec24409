/**
 * @module Puts a Nexus isolate on the network. With `NEXUS_TRANSPORT=corked` (the default off
 * Deno Deploy) WebSocket clients go to the corked transport and every other request to a
 * `Deno.serve` on loopback behind it; with `deno`, `Deno.serve` takes everything.
 */
import type { Config } from "./config.ts";
import { serveHostArg } from "./preflight.ts";
import type { Nexus } from "./server.ts";
import { listenCorked } from "./transport/listener.ts";

/** A serving isolate. */
export interface Serving {
  readonly addr: Deno.NetAddr;
  /** Stop accepting connections and wait for the HTTP server (and corked sockets) to finish. */
  shutdown(): Promise<void>;
}

/** How long a shutdown waits for corked sockets to finish their closing handshakes. */
const SHUTDOWN_WAIT_MS = 2500;

/** Where and how to serve. */
export interface ServeOptions {
  hostname: string;
  port: number;
  /** Share the port with other isolates (each `deno serve --parallel` worker listens itself). */
  reusePort?: boolean;
  onListen?: (addr: Deno.NetAddr) => void;
}

/**
 * Largest message the corked transport reads before closing a socket with 1009: well past
 * NEXUS_MAX_MESSAGE_LENGTH, so an oversized EVENT still gets its `OK false` from the relay.
 */
function transportMessageCap(config: Readonly<Config>): number {
  return Math.max(1024 * 1024, 4 * config.maxMessageLength);
}

/** The line a relay logs once listening: its WebSocket URL (an IPv6 address in brackets). */
export function listeningLine({ hostname, port }: { hostname: string; port: number }): string {
  return `nexus: relay listening on ws://${serveHostArg(hostname)}:${port}`;
}

/** Serve a Nexus isolate on the transport the config names. */
export function serveNexus(
  nexus: Nexus,
  config: Readonly<Config>,
  options: ServeOptions,
): Serving {
  if (config.transport === "deno") {
    const ac = new AbortController();
    const server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      signal: ac.signal,
      onListen: (addr) => options.onListen?.(addr as Deno.NetAddr),
    }, nexus.fetch);
    return {
      addr: server.addr,
      shutdown() {
        ac.abort();
        return server.finished;
      },
    };
  }
  // The peer of each connection passed to the HTTP server, by the pass-through's own port, so a
  // WebSocket upgrade on a kept-alive HTTP connection is still charged to the real client.
  const passed = new Map<number, Deno.NetAddr>();
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => {
      const peer = passed.get((info.remoteAddr as Deno.NetAddr).port);
      return nexus.fetch(req, peer ? { ...info, remoteAddr: peer } : info);
    },
  );
  const listener = listenCorked({
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort,
    maxMessageBytes: transportMessageCap(config),
    // As Deno.upgradeWebSocket's idleTimeout: a ping at half of it, closed at the end of it.
    idleTimeoutMs: config.idleTimeoutSeconds * 500,
    upgrade: nexus.upgrade,
    fallback: http.addr,
    passed,
  });
  options.onListen?.(listener.addr);
  return {
    addr: listener.addr,
    async shutdown() {
      listener.close();
      // Sockets get the close wait to answer; one that stopped reading is not waited on further,
      // so a shutdown ends well inside start.ts's deadline.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<void>((r) => timer = setTimeout(r, SHUTDOWN_WAIT_MS));
      await Promise.race([listener.drained(), waited]);
      clearTimeout(timer);
      listener.terminate();
      await http.shutdown();
    },
  };
}
