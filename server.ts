/**
 * @module Wires one isolate of Nexus: the KV store, the relay and the HTTP routes. The single URL
 * answers WebSocket upgrades (the relay), `Accept: application/nostr+json` (NIP-11) and browsers (HUD).
 */
import { dirname } from "node:path";
import type { Config } from "./config.ts";
import { KvStore } from "./kv/kv_store.ts";
import { createHud } from "./hud/app.tsx";
import { relayInfo } from "./relay/nip11.ts";
import { retention } from "./relay/policies/retention.ts";
import { Relay } from "./relay/relay.ts";
import { statsChannelName, StatsHub } from "./relay/stats_hub.ts";
import { attachSocket } from "./relay/websocket.ts";

/** A running isolate of Nexus. */
export interface Nexus {
  fetch(req: Request, info?: Deno.ServeHandlerInfo): Response | Promise<Response>;
  relay: Relay;
  kv: Deno.Kv;
  close(): Promise<void>;
}

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "*",
  "access-control-allow-methods": "GET, OPTIONS",
};

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
  const stats = new StatsHub(relay, { channel: statsChannelName(config.kvPath) });
  const hud = createHud({
    stats,
    settings: {
      name: config.name,
      auth: config.auth,
      retention: {
        job_ttl_seconds: config.jobTtlSeconds,
        feed_ttl_seconds: config.feedTtlSeconds,
        created_at_lower_limit_seconds: config.createdAtLowerLimit,
        created_at_upper_limit_seconds: config.createdAtUpperLimit,
        nip40_expiration: true,
      },
    },
    relayUrl: (req) => config.relayUrl ?? relayUrlFrom(req),
  });

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
    return hud.fetch(req);
  };

  return {
    fetch,
    relay,
    kv,
    async close() {
      stats.close();
      for (const c of [...relay.connections]) c.transport.close(1001, "relay shutting down");
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
