/** @module The HUD and JSON stats routes, as a Hono app that only reads the relay's counters. */
import { Hono } from "hono";
import { emptyMarket, type MarketSource } from "../commerce/summary.ts";
import type { AggregateStats } from "../relay/stats_snapshot.ts";
import { toPrometheus } from "./metrics.ts";
import { Page } from "./page.tsx";
import { buildReport, type RelaySettings, type StatsReport } from "./report.ts";

/** Anything that can sum the relay's stats now (the StatsHub). */
export interface StatsSource {
  snapshot(): AggregateStats;
}

/** What the HUD needs. */
export interface HudOptions {
  stats: StatsSource;
  settings: RelaySettings;
  /** The relay URL a client reached this page with. */
  relayUrl: (req: Request) => string;
  market?: MarketSource;
}

/** Build the HUD app: `/` (page), `/api/stats` (JSON) and `/metrics` (Prometheus). */
export function createHud(opts: HudOptions): Hono {
  const app = new Hono();
  const report = (req: Request): StatsReport =>
    buildReport(
      opts.stats.snapshot(),
      opts.market?.summary() ?? emptyMarket(),
      opts.settings,
      opts.relayUrl(req),
    );
  app.get("/api/stats", (c) => {
    c.header("access-control-allow-origin", "*");
    c.header("cache-control", "no-store");
    return c.json(report(c.req.raw));
  });
  app.options("/api/stats", (c) => {
    c.header("access-control-allow-origin", "*");
    c.header("access-control-allow-headers", "*");
    c.header("access-control-allow-methods", "GET, HEAD, OPTIONS");
    return c.body(null, 204);
  });
  app.get("/metrics", (c) => {
    c.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    c.header("cache-control", "no-store");
    return c.body(toPrometheus(report(c.req.raw)));
  });
  app.get("/", (c) => c.html("<!doctype html>" + <Page r={report(c.req.raw)} />));
  // Read-only: any other method is refused as such (RFC 9110 405), not as a missing page.
  app.all(
    "/api/stats",
    (c) =>
      c.json({ error: "method not allowed" }, 405, {
        allow: "GET, HEAD, OPTIONS",
        "access-control-allow-origin": "*",
      }),
  );
  app.all("/metrics", (c) => c.text("method not allowed\n", 405, { allow: "GET, HEAD" }));
  return app;
}
