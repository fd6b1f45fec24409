/** @module The stats report in the Prometheus text exposition format (version 0.0.4). */
import type { StatsReport } from "./report.ts";

type Labels = Record<string, string | number>;

/** Render a report as Prometheus metrics, every name prefixed `nexus_`. */
export function toPrometheus(r: StatsReport): string {
  const out: string[] = [];
  const metric = (
    name: string,
    type: "counter" | "gauge",
    help: string,
    samples: Array<[Labels, number]>,
  ) => {
    out.push(`# HELP nexus_${name} ${help}`, `# TYPE nexus_${name} ${type}`);
    for (const [labels, v] of samples) out.push(`nexus_${name}${labelText(labels)} ${num(v)}`);
  };
  const one = (v: number): Array<[Labels, number]> => [[{}, v]];

  metric("info", "gauge", "Build information.", [[{ version: r.version, auth: r.relay.auth }, 1]]);
  metric(
    "uptime_seconds",
    "gauge",
    "Seconds since the oldest isolate started.",
    one(r.uptime_seconds),
  );
  metric("isolates", "gauge", "Isolates whose stats are included.", one(r.isolates.length));
  metric("connections", "gauge", "Open WebSocket connections.", one(r.connections.now));
  metric(
    "connections_peak",
    "gauge",
    "Most open connections seen at once.",
    one(r.connections.peak),
  );
  metric("connections_by_auth", "gauge", "Open connections by NIP-42 state.", [
    [{ state: "authenticated" }, r.connections.authenticated],
    [{ state: "anonymous" }, r.connections.anonymous],
  ]);
  metric(
    "authenticated_agents",
    "gauge",
    "Distinct pubkeys authenticated on open connections, across isolates.",
    one(r.agents.authenticated),
  );
  metric("subscriptions", "gauge", "Open REQ subscriptions.", one(r.subscriptions.open));
  const e = r.events;
  metric("events_received_total", "counter", "EVENT messages received.", one(e.received_total));
  metric(
    "events_stored_total",
    "counter",
    "Events stored (accepted since start).",
    one(e.stored_total),
  );
  metric("events_ephemeral_total", "counter", "Ephemeral events accepted.", one(e.ephemeral_total));
  metric(
    "events_duplicate_total",
    "counter",
    "Events already stored, or ephemeral ones already relayed.",
    one(e.duplicate_total),
  );
  metric(
    "events_delivered_total",
    "counter",
    "Events sent to live subscriptions.",
    one(e.delivered_total),
  );
  metric(
    "refusals_total",
    "counter",
    "Refused EVENTs (OK false) and REQ/COUNT (CLOSED) by reason.",
    Object.entries(r.refusals).map(([reason, n]) => [{ reason }, n]),
  );
  metric(
    "events_by_class_total",
    "counter",
    "Accepted events by kind class (storage class, or commerce role).",
    Object.entries(r.kinds.by_class).map(([cls, n]) => [{ class: cls }, n]),
  );
  metric(
    "events_by_kind_total",
    "counter",
    "Accepted events of the most frequent kinds.",
    r.kinds.top.map((k) => [{ kind: k.kind }, k.count]),
  );
  const hot = r.storage.hot_events;
  for (
    const [verb, memory, kv] of [
      ["req", hot.filters_from_memory_total, hot.filters_from_kv_total],
      ["count", hot.count_filters_from_memory_total, hot.count_filters_from_kv_total],
    ] as const
  ) {
    metric(
      `${verb}_filters_total`,
      "counter",
      `${verb.toUpperCase()} filters by where their events came from: the in-memory window or KV.`,
      [[{ source: "memory" }, memory], [{ source: "kv" }, kv]],
    );
  }
  metric(
    "filters_proven_empty_below_total",
    "counter",
    "Of the filters answered from memory, those the index keys below the window proved empty there.",
    one(hot.filters_proven_empty_below_total),
  );
  metric(
    "hot_events",
    "gauge",
    "Events held in memory by each isolate's window.",
    r.isolates.map((i) => [{ isolate: i.id }, i.hot_events]),
  );
  metric(
    "verify_threads",
    "gauge",
    "Threads each isolate checks signatures on (0: on the isolate's own thread).",
    r.isolates.map((i) => [{ isolate: i.id }, i.verify_threads]),
  );
  const m = r.market;
  metric(
    "jobs",
    "gauge",
    `NIP-90 jobs by state in the last ${m.window_seconds} seconds.`,
    Object.entries(m.jobs).map(([state, n]) => [{ state }, n]),
  );
  metric(
    "job_first_result_seconds",
    "gauge",
    // Precomputed percentiles of a gauge: the label is not `quantile`, which Prometheus keeps for
    // summaries (promtool refuses it on a gauge).
    "Time from job request to first result, by job kind: median and 95th percentile.",
    m.by_kind.flatMap((k) => {
      const s: Array<[Labels, number]> = [];
      if (k.median_ms !== null) s.push([{ kind: k.kind, percentile: "50" }, k.median_ms / 1000]);
      if (k.p95_ms !== null) s.push([{ kind: k.kind, percentile: "95" }, k.p95_ms / 1000]);
      return s;
    }),
  );
  const ret = r.storage.retention;
  metric("job_ttl_seconds", "gauge", "Retention of NIP-90 job events.", one(ret.job_ttl_seconds));
  return out.join("\n") + "\n";
}

/** Label values escaped per the exposition format: backslash, double quote and newline. */
function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(v: number): string {
  return Number.isFinite(v) ? String(v) : "NaN";
}
