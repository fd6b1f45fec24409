/** @module The HUD and JSON stats routes, as a Hono app that only reads the relay's counters. */
import { Hono } from "hono";
import type { Relay } from "../relay/relay.ts";
import { VERSION } from "../version.ts";

/** Build the HUD app. */
export function createHud({ relay }: { relay: Relay }): Hono {
  const app = new Hono();
  const snapshot = () => ({
    version: VERSION,
    uptime_seconds: Math.floor((Date.now() - relay.stats.startedAt) / 1000),
    connections: relay.stats.connections,
    subscriptions: relay.subs.size,
    events: { received: relay.stats.received, stored: relay.stats.stored },
  });
  app.get("/api/stats", (c) => {
    c.header("access-control-allow-origin", "*");
    return c.json(snapshot());
  });
  app.get("/", (c) => {
    const s = snapshot();
    return c.html(
      <html>
        <head>
          <title>Nexus relay</title>
        </head>
        <body>
          <h1>Nexus</h1>
          <p>Connections: {s.connections}</p>
        </body>
      </html>,
    );
  });
  return app;
}
