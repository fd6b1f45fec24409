/**
 * @module Wires one isolate of Nexus: the KV store, the relay and the HTTP routes. The single URL
 * answers WebSocket upgrades (the relay), `Accept: application/nostr+json` (NIP-11) and browsers (HUD).
 */
import { createCommerceApi } from "./commerce/api.ts";
import { JobBoard } from "./commerce/job_board.ts";
import type { Config } from "./config.ts";
import { KvStore } from "./kv/kv_store.ts";
import { createVerifier } from "./nostr/verifier.ts";
import { createHud } from "./hud/app.tsx";
import { IpConnections } from "./relay/ip_connections.ts";
import { relayInfo } from "./relay/nip11.ts";
import { retention } from "./relay/policies/retention.ts";
import { Relay } from "./relay/relay.ts";
import { reason } from "./relay/reason.ts";
import { statsChannelName, StatsHub } from "./relay/stats_hub.ts";
import { attachDenoSocket, attachSocket } from "./relay/websocket.ts";
import { refuseHandshake } from "./transport/handshake.ts";
import { chosenProtocol, type UpgradeDecision } from "./transport/listener.ts";
import { Cluster } from "./relay/cluster.ts";

/** A running isolate of Nexus. */
export interface Nexus {
  fetch(req: Request, info?: Deno.ServeHandlerInfo): Response | Promise<Response>;
  /** Decide a WebSocket upgrade for the corked transport. */
  upgrade(req: Request, remote: Deno.NetAddr): UpgradeDecision;
  relay: Relay;
  cluster: Cluster;
  /** The agent-commerce view (a MarketSource for the HUD). */
  board: JobBoard;
  kv: Deno.Kv;
  /** Refuse new connections, tell clients, close their sockets and the store; idempotent. */
  close(): Promise<void>;
}

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "*",
  "access-control-allow-methods": "GET, OPTIONS",
};

const BOARD_REFRESH_MS = 30_000;
/** How long Deno's WebSocket may stay unopened after its upgrade before its per-IP slot is freed. */
const UPGRADE_OPEN_TIMEOUT_MS = 10_000;

export { openKv } from "./kv/open_kv.ts";

/** Build an isolate of Nexus over a KV handle. */
export function createNexus(config: Readonly<Config>, kv: Deno.Kv): Nexus {
  const store = new KvStore(kv, {
    retention: retention(config.jobTtlSeconds),
    feedTtlMs: config.feedTtlSeconds * 1000,
    hotEvents: config.hotEvents,
    hotBelowMax: config.hotBelowMax,
    feedPollMs: config.feedPollMs,
  });
  const verifier = createVerifier(config.verifyThreads);
  const relay = new Relay({ config, store, verifier });
  const cluster = new Cluster(relay, kv, {
    pollMs: config.feedPollMs,
    skipWriter: store.writerId,
  });
  // Starting late only means a few events reach this isolate by BroadcastChannel or not at all
  // before it has subscribers; nothing is owed to subscribers that do not exist yet.
  cluster.start().catch((err) => console.error("nexus: change feed not followed:", err));
  const ipConnections = new IpConnections(config.maxConnectionsPerIp);
  let closing: Promise<void> | undefined;
  // Rebuilt from the store at start, fed by accepted events, refreshed for other isolates' writes.
  const board = new JobBoard({
    store,
    ttlSeconds: config.jobTtlSeconds,
    refreshMs: BOARD_REFRESH_MS,
  });
  // Every event this isolate learns of, whichever isolate or instance stored it.
  relay.onDelivered.push((ev, at) => board.ingest(ev, at));
  board.start();
  const commerce = createCommerceApi(board);
  const stats = new StatsHub(relay, {
    channel: statsChannelName(config.kvPath),
    // An in-memory KV is this isolate's alone: there is no one to share with.
    kv: config.kvPath === ":memory:" ? undefined : kv,
  });
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
    market: board,
  });

  /** Let a WebSocket client in, or the Response refusing it; `release` frees its per-IP slot. */
  const admit = (
    req: Request,
    url: URL,
    ip: string,
  ): Response | { ip: string; relayUrl: string; release: () => void } => {
    if (url.pathname !== "/") return new Response("Not found", { status: 404 });
    if (closing) {
      return new Response("Shutting down", { status: 503, headers: { "retry-after": "5" } });
    }
    // Refused before the upgrade, so an over-cap client costs no socket or relay state.
    const release = config.connectionCapExempt.includes(ip) ? () => {} : ipConnections.acquire(ip);
    if (!release) {
      return new Response("Too many connections from your address", {
        status: 429,
        headers: { "retry-after": "10" },
      });
    }
    return { ip, relayUrl: config.relayUrl ?? relayUrlFrom(req), release };
  };

  /** The corked transport's upgrade: a refusal, or the handlers of the accepted socket. */
  const upgrade = (req: Request, remote: Deno.NetAddr): UpgradeDecision => {
    const admitted = admit(req, new URL(req.url), clientIp(req, remote, config.trustProxy));
    if (admitted instanceof Response) return admitted;
    return (socket) => {
      const events = attachSocket(relay, socket, admitted.ip, admitted.relayUrl);
      return {
        open: events.open,
        message: events.message,
        binary: events.message,
        closed() {
          admitted.release();
          events.closed();
        },
      };
    };
  };

  const fetch = (req: Request, info?: Deno.ServeHandlerInfo): Response | Promise<Response> => {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      // The runtime builds the URL from the Host header, which the client chose.
      return new Response("Bad Host header", { status: 400 });
    }
    // RFC 9110: HEAD gets GET's headers. Hono answers HEAD with an empty body, so Content-Length 0;
    // given GET's response, the runtime sends its headers and length without the body. (Built
    // anew rather than from `req`, whose abort signal the runtime warns about when copied.)
    if (req.method === "HEAD") {
      return fetch(new Request(url, { method: "GET", headers: req.headers }), info);
    }
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      const refused = refuseHandshake(req.headers);
      if (refused) return refused;
      const admitted = admit(req, url, clientIp(req, info?.remoteAddr, config.trustProxy));
      if (admitted instanceof Response) return admitted;
      let upgraded: { socket: WebSocket; response: Response };
      try {
        // The runtime pings a silent client at half the timeout and closes it at the timeout.
        upgraded = Deno.upgradeWebSocket(req, {
          idleTimeout: config.idleTimeoutSeconds,
          protocol: chosenProtocol(req),
        });
      } catch {
        admitted.release();
        return new Response("Bad WebSocket upgrade", { status: 400 });
      }
      const { socket } = upgraded;
      socket.addEventListener("close", admitted.release);
      socket.addEventListener("error", admitted.release);
      // A client that resets before the 101 reaches it leaves Deno's socket CONNECTING for good,
      // firing neither event: its slot would never come back.
      const unopened = setTimeout(() => {
        if (socket.readyState === WebSocket.CONNECTING) admitted.release();
      }, UPGRADE_OPEN_TIMEOUT_MS);
      socket.addEventListener("open", () => clearTimeout(unopened));
      socket.addEventListener("close", () => clearTimeout(unopened));
      attachDenoSocket(relay, socket, admitted.ip, admitted.relayUrl);
      return upgraded.response;
    }
    if (url.pathname === "/" && wantsNip11(req.headers.get("accept"))) {
      if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: CORS });
      return new Response(JSON.stringify(relayInfo(config)), {
        headers: { ...CORS, "content-type": "application/nostr+json", vary: "accept" },
      });
    }
    if (req.method === "OPTIONS" && url.pathname === "/") {
      return new Response(null, { status: 204, headers: CORS });
    }
    // Every /api path but /api/stats goes to the commerce app, whose 404 is JSON like its errors.
    if (url.pathname.startsWith("/api/") && url.pathname !== "/api/stats") {
      return commerce.fetch(req);
    }
    if (url.pathname !== "/") return hud.fetch(req);
    // The same URL answers NIP-11 by Accept: a cache in front must not mix the two up.
    return Promise.resolve(hud.fetch(req)).then((res) => {
      res.headers.append("vary", "accept");
      return res;
    });
  };

  return {
    fetch,
    upgrade,
    relay,
    cluster,
    board,
    kv,
    close() {
      return closing ??= (async () => {
        const why = reason("error", "the relay is shutting down; reconnect and resubscribe");
        for (const c of [...relay.connections]) {
          // No CLOSED for open subscriptions: client libraries (nostr-tools among them) take CLOSED
          // as final and do not re-send those REQs when they reconnect, so a restart would leave
          // agents deaf. A NOTICE and close code 1001 (going away) say "come back". (Where AUTH is
          // required, nostr-tools re-sends before authenticating: the client must send them again.)
          c.notice(why);
          c.transport.close(1001, "relay shutting down");
        }
        // First: a live thread would keep the isolate up if a later step failed.
        verifier.close();
        await stats.close();
        await cluster.close();
        await board.close();
        await store.close();
      })();
    },
  };
}

/**
 * Whether an Accept header asks for the NIP-11 document rather than the HUD: it names
 * `application/nostr+json` with a q-value above 0 and at least that of `text/html` (RFC 9110).
 */
export function wantsNip11(accept: string | null): boolean {
  if (!accept) return false;
  let nostr = 0, html = 0;
  // Media types are case-insensitive; wildcards leave the choice to us, and we choose the HUD.
  for (const entry of accept.toLowerCase().split(",")) {
    const [type, ...params] = entry.split(";").map((s) => s.trim());
    const q = params.find((p) => p.startsWith("q="));
    if (q !== undefined && !/^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(q)) continue; // malformed: ignored
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (type === "application/nostr+json") nostr = Math.max(nostr, weight);
    else if (type === "text/html") html = Math.max(html, weight);
  }
  return nostr > 0 && nostr >= html;
}

/** The public relay URL as the client reached it: Host header, and x-forwarded-proto if present. */
export function relayUrlFrom(req: Request): string {
  const url = new URL(req.url);
  const host = req.headers.get("host") ?? url.host;
  const proto = req.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() ??
    url.protocol.replace(":", "");
  return `${proto === "https" || proto === "wss" ? "wss" : "ws"}://${host}`;
}

/** The client IP: the remote address, or the last entry of the trusted proxy header if set. */
export function clientIp(
  req: Request,
  remote: Deno.Addr | undefined,
  trustedHeader: string | undefined,
): string {
  if (trustedHeader) {
    // The last entry is the one the trusted proxy added: proxies append the address they saw to
    // whatever the client sent, so the earlier entries are the client's to choose. (An empty last
    // entry means the proxy added none: then no entry is trusted.)
    const forwarded = hostOnly(req.headers.get(trustedHeader)?.split(",").at(-1)?.trim() ?? "");
    if (forwarded) return forwarded;
  }
  return (remote as Deno.NetAddr | undefined)?.hostname ?? "unknown";
}

/** An address without the port some proxies append (`1.2.3.4:5678`, `[2001:db8::1]:443`). */
function hostOnly(addr: string): string {
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(addr);
  if (v4) return v4[1]!;
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(addr);
  return v6 ? v6[1]! : addr;
}
