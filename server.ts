/**
 * @module Wires one isolate of Nexus: the KV store, the relay and the HTTP routes. The single URL
 * answers WebSocket upgrades (the relay), `Accept: application/nostr+json` (NIP-11) and browsers (HUD).
 */
import { dirname } from "node:path";
import { createCommerceApi } from "./commerce/api.ts";
import { JobBoard } from "./commerce/job_board.ts";
import type { Config } from "./config.ts";
import { KvStore } from "./kv/kv_store.ts";
import { createHud } from "./hud/app.tsx";
import { relayInfo } from "./relay/nip11.ts";
import { retention } from "./relay/policies/retention.ts";
import { Relay } from "./relay/relay.ts";
import { attachSocket } from "./relay/websocket.ts";

/** A running isolate of Nexus. */
export interface Nexus {
  fetch(req: Request, info?: Deno.ServeHandlerInfo): Response | Promise<Response>;
  relay: Relay;
  /** The agent-commerce view (a MarketSource for the HUD). */
  board: JobBoard;
  kv: Deno.Kv;
  close(): Promise<void>;
}

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "*",
  "access-control-allow-methods": "GET, OPTIONS",
};

const BOARD_REFRESH_MS = 30_000;

/** Open the KV at the configured path, creating its directory. */
export async function openKv(path: string | undefined): Promise<Deno.Kv> {
  if (path && path !== ":memory:") await Deno.mkdir(dirname(path), { recursive: true });
  return await Deno.openKv(path);
}

/** Build an isolate of Nexus over a KV handle. */
export function createNexus(config: Readonly<Config>, kv: Deno.Kv): Nexus {
  const store = new KvStore(kv, {
    retention: retention(config.jobTtlSeconds),
    feedTtlMs: config.feedTtlSeconds * 1000,
  });
  const relay = new Relay({ config, store });
  const hud = createHud({ relay });
  // Rebuilt from the store at start, fed by accepted events, refreshed for other isolates' writes.
  const board = new JobBoard({
    store,
    ttlSeconds: config.jobTtlSeconds,
    refreshMs: BOARD_REFRESH_MS,
  });
  relay.onAccepted.push((ev) => board.ingest(ev, Date.now()));
  board.start();
  const commerce = createCommerceApi(board);

  const fetch = (req: Request, info?: Deno.ServeHandlerInfo): Response | Promise<Response> => {
    const url = new URL(req.url);
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      if (url.pathname !== "/") return new Response("Not found", { status: 404 });
      // remoteAddr is gone once the request is upgraded: read it first.
      const ip = (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname ?? "unknown";
      const relayUrl = config.relayUrl ?? relayUrlFrom(req);
      const { socket, response } = Deno.upgradeWebSocket(req);
      attachSocket(relay, socket, ip, relayUrl);
      return response;
    }
    if (url.pathname === "/" && req.headers.get("accept")?.includes("application/nostr+json")) {
      if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: CORS });
      return new Response(JSON.stringify(relayInfo(config)), {
        headers: { ...CORS, "content-type": "application/nostr+json" },
      });
    }
    if (req.method === "OPTIONS" && url.pathname === "/") {
      return new Response(null, { status: 204, headers: CORS });
    }
    if (url.pathname.startsWith("/api/jobs") || url.pathname.startsWith("/api/providers")) {
      return commerce.fetch(req);
    }
    return hud.fetch(req);
  };

  return {
    fetch,
    relay,
    board,
    kv,
    async close() {
      for (const c of [...relay.connections]) c.transport.close(1001, "relay shutting down");
      await board.close();
      await store.close();
    },
  };
}

/** The public relay URL as the client reached it: Host header, and x-forwarded-proto if present. */
export function relayUrlFrom(req: Request): string {
  const url = new URL(req.url);
  const host = req.headers.get("host") ?? url.host;
  const proto = req.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() ??
    url.protocol.replace(":", "");
  return `${proto === "https" || proto === "wss" ? "wss" : "ws"}://${host}`;
}
