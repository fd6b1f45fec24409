import { assert, assertEquals, assertMatch } from "@std/assert";
import { emptyMarket, type MarketSummary } from "../commerce/summary.ts";
import { loadConfig } from "../config.ts";
import { MemoryStore } from "../kv/memory_store.ts";
import { Relay } from "../relay/relay.ts";
import { StatsHub } from "../relay/stats_hub.ts";
import { createHud } from "./app.tsx";
import { SCRIPT } from "./script.ts";
import { chart, rowsFor, VIEW_SOURCE } from "./view.ts";
import type { StatsReport } from "./report.ts";

const EVIL = "<script>alert(1)</script>";

function market(): MarketSummary {
  return {
    ...emptyMarket(),
    jobs: { open: 2, completed: 5, failed: 1, expired: 0, cancelled: 0 },
    by_kind: [{
      kind: 5050,
      jobs: 8,
      results: 6,
      success_rate: 0.75,
      median_ms: 850,
      p95_ms: 2400,
    }],
    providers: [{
      pubkey: "ab".repeat(32),
      name: EVIL,
      jobs: 6,
      results: 5,
      success_rate: 0.83,
      reputation: { "nexus/reputation": { [`<img src=x onerror=alert(2)>`]: 3 } },
    }],
  };
}

function setup(auth = "required") {
  const relay = new Relay({
    config: loadConfig((n) => ({ NEXUS_AUTH: auth } as Record<string, string>)[n]),
    store: new MemoryStore(),
  });
  const stats = new StatsHub(relay);
  const app = createHud({
    stats,
    market: { summary: market },
    settings: {
      name: "Test relay",
      auth: relay.config.auth,
      retention: {
        job_ttl_seconds: 86400,
        feed_ttl_seconds: 600,
        created_at_lower_limit_seconds: 0,
        created_at_upper_limit_seconds: 900,
        nip40_expiration: true,
      },
    },
    relayUrl: () => "wss://relay.example",
  });
  // Real counters, fed the way connection.ts feeds them.
  relay.stats.open();
  relay.stats.receive();
  relay.stats.accept(5050);
  relay.stats.receive();
  relay.stats.refuse("invalid: bad signature");
  relay.stats.authenticate("cd".repeat(32), new Set());
  return { app, relay, stats };
}

// The documented schema (README): path -> typeof, "array" for arrays.
const SCHEMA: Record<string, string> = {
  schema: "number",
  version: "string",
  generated_at: "number",
  uptime_seconds: "number",
  "relay.name": "string",
  "relay.url": "string",
  "relay.auth": "string",
  "relay.auth_required_to_publish": "boolean",
  "relay.auth_required_to_read": "boolean",
  isolates: "array",
  "connections.now": "number",
  "connections.peak": "number",
  "connections.authenticated": "number",
  "connections.anonymous": "number",
  "agents.authenticated": "number",
  "subscriptions.open": "number",
  "events.received_total": "number",
  "events.stored_total": "number",
  "events.ephemeral_total": "number",
  "events.duplicate_total": "number",
  "events.delivered_total": "number",
  "events.refused_total": "number",
  "rates.per_second.received": "number",
  "rates.per_second.stored": "number",
  "rates.per_second.delivered": "number",
  "rates.per_second.refused": "number",
  "rates.short.step_seconds": "number",
  "rates.short.end": "number",
  "rates.short.received": "array",
  "rates.short.stored": "array",
  "rates.short.delivered": "array",
  "rates.short.refused": "array",
  "rates.hour.step_seconds": "number",
  "rates.hour.end": "number",
  "rates.hour.received": "array",
  "rates.hour.stored": "array",
  "rates.hour.delivered": "array",
  "rates.hour.refused": "array",
  refusals: "object",
  "kinds.by_class.regular": "number",
  "kinds.by_class.replaceable": "number",
  "kinds.by_class.ephemeral": "number",
  "kinds.by_class.addressable": "number",
  "kinds.by_class.job_request": "number",
  "kinds.by_class.job_result": "number",
  "kinds.by_class.job_feedback": "number",
  "kinds.by_class.handler": "number",
  "kinds.by_class.label": "number",
  "kinds.top": "array",
  "storage.events_stored": "number",
  "storage.counted": "string",
  "storage.retention.job_ttl_seconds": "number",
  "storage.retention.feed_ttl_seconds": "number",
  "storage.retention.created_at_lower_limit_seconds": "number",
  "storage.retention.created_at_upper_limit_seconds": "number",
  "storage.retention.nip40_expiration": "boolean",
  "storage.hot_events.held_max": "number",
  "storage.hot_events.filters_from_memory_total": "number",
  "storage.hot_events.filters_from_kv_total": "number",
  "storage.hot_events.count_filters_from_memory_total": "number",
  "storage.hot_events.count_filters_from_kv_total": "number",
  "storage.hot_events.filters_proven_empty_below_total": "number",
  "market.window_seconds": "number",
  "market.jobs.open": "number",
  "market.jobs.completed": "number",
  "market.jobs.failed": "number",
  "market.jobs.expired": "number",
  "market.jobs.cancelled": "number",
  "market.by_kind": "array",
  "market.providers": "array",
};

function at(o: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], o);
}

Deno.test("/api/stats serves every documented field with its type, CORS open", async () => {
  const { app, stats } = setup();
  const res = await app.request("/api/stats");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("access-control-allow-origin"), "*");
  const body = await res.json();
  for (const [path, type] of Object.entries(SCHEMA)) {
    const v = at(body, path);
    assertEquals(Array.isArray(v) ? "array" : typeof v, type, `field ${path}`);
  }
  assertEquals(body.rates.short.received.length, 300);
  assertEquals(body.rates.hour.received.length, 60);
  assertEquals(body.isolates[0].id, stats.id);
  assertEquals(body.isolates[0].verify_threads, 0);
  assertEquals(body.kinds.top, [{ kind: 5050, count: 1 }]);
  assertEquals(body.refusals, { invalid: 1 });
  assertEquals(body.kinds.by_class.job_request, 1);
  assertEquals([body.connections.now, body.connections.authenticated], [1, 1]);
  assertEquals([body.relay.auth_required_to_read, body.relay.url], [true, "wss://relay.example"]);
  assertEquals(body.market.jobs.completed, 5);
  stats.close();
});

Deno.test("/metrics is Prometheus text: HELP and TYPE per metric, nexus_ names, labels", async () => {
  const { app, stats } = setup();
  const res = await app.request("/metrics");
  assertMatch(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.trimEnd().split("\n")) {
    const t = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
    if (t) {
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line.startsWith("# HELP nexus_")) continue;
    const m =
      /^(nexus_[a-z_]+)(\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})? (\S+)$/
        .exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    assert(types.has(m[1]!), `sample before its TYPE: ${line}`);
    // Prometheus keeps `quantile` for summaries and `le` for histograms (promtool refuses them).
    assert(!/[{,](quantile|le)="/.test(m[2] ?? ""), `reserved label on a ${types.get(m[1]!)}`);
    samples.set(m[1]! + (m[2] ?? ""), Number(m[3]));
  }
  for (const [name, type] of types) {
    assertEquals(name.endsWith("_total"), type === "counter", `${name} is a ${type}`);
  }
  assertEquals(samples.get("nexus_events_received_total"), 2);
  assertEquals(samples.get('nexus_refusals_total{reason="invalid"}'), 1);
  assertEquals(samples.get('nexus_events_by_class_total{class="job_request"}'), 1);
  assertEquals(samples.get('nexus_connections_by_auth{state="authenticated"}'), 1);
  assertEquals(samples.get('nexus_jobs{state="completed"}'), 5);
  assertEquals(samples.get('nexus_job_first_result_seconds{kind="5050",percentile="95"}'), 2.4);
  assertEquals(samples.get("nexus_isolates"), 1);
  // The relay checks inline (no verifier given): no threads.
  assertEquals(samples.get(`nexus_verify_threads{isolate="${stats.id}"}`), 0);
  stats.close();
});

Deno.test("the HUD page is self-contained HTML with the numbers, relay URL and AUTH mode", async () => {
  const { app, stats } = setup("writes");
  const res = await app.request("/");
  assertMatch(res.headers.get("content-type") ?? "", /^text\/html/);
  const html = await res.text();
  assert(html.startsWith("<!doctype html>"));
  assert(html.includes("wss://relay.example"));
  assert(html.includes("AUTH (NIP-42) required to publish; reading is open"));
  assertMatch(html, /data-k="events.received_total" data-f="int">2</);
  assert(html.includes("5050 · job request"));
  assert(html.includes("<svg"));
  // No external assets: nothing loaded from anywhere but this page (the empty data: icon is inline).
  assert(
    !/<link(?![^>]*href="data:,")|<script[^>]+src=|<img|url\(/.test(html),
    "the page loads an external asset",
  );
  stats.close();
});

Deno.test("a provider name holding <script> renders as text, never as markup", async () => {
  const { app, stats } = setup();
  const html = await (await app.request("/")).text();
  assert(!html.includes(EVIL), "raw <script> from event data reached the page");
  assert(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"), "escaped name missing");
  assert(!html.includes("<img src=x"), "raw <img> from a reputation label reached the page");
  // The live script sets event text with textContent only.
  assert(!/innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(SCRIPT));
  stats.close();
});

Deno.test("the view functions shipped to the browser build the same rows as the server", async () => {
  const { app, stats } = setup();
  const report: StatsReport = await (await app.request("/api/stats")).json();
  const clientRowsFor = new Function(`${VIEW_SOURCE}\nreturn rowsFor;`)() as typeof rowsFor;
  for (const list of ["refusals", "classes", "kinds", "job-kinds", "providers", "isolates"]) {
    assertEquals(clientRowsFor(list, report), rowsFor(list, report), list);
  }
  assertEquals(rowsFor("providers", report)[0]!.cells[0], `${EVIL} (abababab…abab)`);
  // `invalid:` covers more than bad signatures here (limits, older replaceable versions): the
  // label must not send an operator hunting for a signing bug.
  assertMatch(String(rowsFor("refusals", report)[0]!.cells[0]), /^invalid: .*superseded/);
  // The relay in setup() checks signatures on its own thread.
  assertEquals(rowsFor("isolates", report)[0]!.cells[2], "inline");
  const threaded = {
    ...report,
    isolates: [1, 2].map((n) => ({ ...report.isolates[0]!, verify_threads: n })),
  };
  assertEquals(clientRowsFor("isolates", threaded).map((r) => r.cells[2]), [
    "1 thread",
    "2 threads",
  ]);
  stats.close();
});

Deno.test("settings on the page are live fields, so a relay restarted with others shows them", async () => {
  const { app, stats } = setup("writes");
  const html = await (await app.request("/")).text();
  for (
    const [k, f] of [
      ["relay.name", "text"],
      ["relay", "auth"],
      ["relay.auth", "text"],
      ["version", "text"],
      ["storage.retention.job_ttl_seconds", "dur"],
      ["storage.retention.created_at_lower_limit_seconds", "ago"],
      ["storage.retention.created_at_upper_limit_seconds", "ahead"],
      ["market.window_seconds", "dur"],
    ]
  ) assert(html.includes(`data-k="${k}" data-f="${f}"`), `${k} is not refreshed by the script`);
  const report: StatsReport = await (await app.request("/api/stats")).json();
  const show = new Function(`${VIEW_SOURCE}\nreturn show;`)() as (
    r: unknown,
    k: string,
    f: string,
  ) => string;
  const restarted = {
    ...report,
    relay: { ...report.relay, auth: "required", auth_required_to_read: true },
  };
  assertEquals(show(restarted, "relay", "auth"), "AUTH (NIP-42) required to publish and to read");
  assertEquals(show(report, "relay", "auth"), "AUTH (NIP-42) required to publish; reading is open");
  assertEquals(show({ s: 0 }, "s", "ago"), "any age");
  stats.close();
});

Deno.test("charts draw complete buckets only: the one still filling would dip toward zero", () => {
  const chartOf = new Function(`${VIEW_SOURCE}\nreturn chart;`)() as typeof chart;
  for (const draw of [chart, chartOf]) {
    // Per minute: 1/s, then 2/s, then 3 events three seconds into the minute in progress.
    const g = draw({ received: [60, 120, 3] }, ["received"], 60, 100, 10);
    assertEquals(g.lines.received, "0.0,5.0 100.0,0.0");
    assertEquals(g.max, 2);
  }
});
