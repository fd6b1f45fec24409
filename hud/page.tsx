/** @module The HUD page: pure components rendering the report they are given, plus the live script. */
import type { FC } from "hono/jsx";
import { Chart } from "./components/chart.tsx";
import { Header } from "./components/header.tsx";
import { Market } from "./components/market.tsx";
import { Live, Stat } from "./components/stat.tsx";
import { Table } from "./components/table.tsx";
import type { StatsReport } from "./report.ts";
import { SCRIPT } from "./script.ts";
import { CSS } from "./style.ts";

const LEGEND: Array<[string, string]> = [
  ["received", "received (EVENTs sent to the relay)"],
  ["stored", "stored"],
  ["delivered", "delivered to subscribers"],
  ["refused", "refused"],
];

/** The whole HUD document for one report. */
export const Page: FC<{ r: StatsReport }> = ({ r }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="color-scheme" content="light dark" />
      <title>{r.relay.name} · Nostr relay status</title>
      {/* No favicon: without this the browser asks /favicon.ico and logs the 404 as an error. */}
      <link rel="icon" href="data:," />
      <style dangerouslySetInnerHTML={{ __html: CSS }} />
    </head>
    <body data-state="live" data-updates="0">
      <main>
        <Header r={r} />

        <section>
          <h2>Right now</h2>
          <div class="grid">
            <Stat
              r={r}
              label="Open connections"
              k="connections.now"
              sub={{ label: "peak", k: "connections.peak" }}
              hint="WebSockets connected to the relay"
            />
            <Stat
              r={r}
              label="Agents signed in"
              k="agents.authenticated"
              hint="Distinct pubkeys that completed AUTH"
            />
            <Stat
              r={r}
              label="Open subscriptions"
              k="subscriptions.open"
              hint="Live REQ queries being watched"
            />
            <Stat
              r={r}
              label="Received / s"
              k="rates.per_second.received"
              f="rate"
              tone="received"
              sub={{ label: "total", k: "events.received_total" }}
            />
            <Stat
              r={r}
              label="Stored / s"
              k="rates.per_second.stored"
              f="rate"
              tone="stored"
              sub={{ label: "total", k: "events.stored_total" }}
            />
            <Stat
              r={r}
              label="Delivered / s"
              k="rates.per_second.delivered"
              f="rate"
              tone="delivered"
              sub={{ label: "total", k: "events.delivered_total" }}
            />
            <Stat
              r={r}
              label="Refused / s"
              k="rates.per_second.refused"
              f="rate"
              tone="refused"
              sub={{ label: "total", k: "events.refused_total" }}
            />
          </div>
        </section>

        <section>
          <h2>
            Traffic <small>· rates are averaged over the last 10 seconds</small>
          </h2>
          <div class="legend">
            {LEGEND.map(([f, label]) => (
              <span>
                <i style={`background:var(--${f})`} />
                {label}
              </span>
            ))}
          </div>
          <div class="cols">
            <div class="card">
              <Chart name="short" series={r.rates.short} title="Last 5 minutes" from="5 min ago" />
            </div>
            <div class="card">
              <Chart name="hour" series={r.rates.hour} title="Last hour" from="60 min ago" />
            </div>
          </div>
        </section>

        <section>
          <h2>What is being published</h2>
          <div class="cols">
            <div class="card">
              <h3 class="muted">Events by kind class (accepted since start)</h3>
              <Table r={r} list="classes" head={["Class", "Events"]} empty="Nothing yet." />
            </div>
            <div class="card">
              <h3 class="muted">Top kinds</h3>
              <Table r={r} list="kinds" head={["Kind", "Events"]} empty="No events yet." />
            </div>
            <div class="card">
              <h3 class="muted">Refusals by reason</h3>
              <Table
                r={r}
                list="refusals"
                head={["Reason", "Count"]}
                empty="Nothing refused so far."
              />
            </div>
          </div>
        </section>

        <Market r={r} />

        <section>
          <h2>Storage and relay</h2>
          <div class="cols">
            <div class="card">
              <h3 class="muted">Storage (Deno KV)</h3>
              <dl class="kv">
                <dt>Events stored since start</dt>
                <dd>
                  <Live r={r} k="storage.events_stored" />
                </dd>
                <dt>Duplicates ignored</dt>
                <dd>
                  <Live r={r} k="events.duplicate_total" />
                </dd>
                <dt>Ephemeral (relayed, not kept)</dt>
                <dd>
                  <Live r={r} k="events.ephemeral_total" />
                </dd>
                <dt>Job events kept for</dt>
                <dd>
                  <Live r={r} k="storage.retention.job_ttl_seconds" f="dur" />
                </dd>
                <dt>Change feed kept for</dt>
                <dd>
                  <Live r={r} k="storage.retention.feed_ttl_seconds" f="dur" />
                </dd>
                <dt>Oldest created_at accepted</dt>
                <dd>
                  <Live r={r} k="storage.retention.created_at_lower_limit_seconds" f="ago" />
                </dd>
                <dt>Future created_at accepted</dt>
                <dd>
                  <Live r={r} k="storage.retention.created_at_upper_limit_seconds" f="ahead" />
                </dd>
                <dt>NIP-40 expiration honoured</dt>
                <dd>{r.storage.retention.nip40_expiration ? "yes" : "no"}</dd>
              </dl>
            </div>
            <div class="card">
              <h3 class="muted">Connections by AUTH state</h3>
              <dl class="kv">
                <dt>Signed in (AUTH done)</dt>
                <dd>
                  <Live r={r} k="connections.authenticated" />
                </dd>
                <dt>Anonymous</dt>
                <dd>
                  <Live r={r} k="connections.anonymous" />
                </dd>
                <dt>AUTH mode</dt>
                <dd>
                  <Live r={r} k="relay.auth" f="text" />
                </dd>
              </dl>
              <h3 class="muted" style="margin-top:14px">Isolates reporting</h3>
              <Table
                r={r}
                list="isolates"
                head={["Isolate", "Connections", "Signatures", "Up", "Last report"]}
                empty="None."
              />
            </div>
          </div>
        </section>

        <footer>
          Nexus {r.version} · the same numbers as JSON at <a href="/api/stats">/api/stats</a>{" "}
          and for Prometheus at <a href="/metrics">/metrics</a>.
        </footer>
      </main>
      <script dangerouslySetInnerHTML={{ __html: SCRIPT }} />
    </body>
  </html>
);
