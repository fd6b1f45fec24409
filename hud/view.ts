/**
 * @module View helpers shared by the server-rendered page and its live-update script: the page
 * ships these very functions to the browser as source (`VIEW_SOURCE`), so the first render and
 * every later redraw format numbers and build rows the same way.
 *
 * Every function here must be self-contained: it may call only the other functions listed in
 * VIEW_FUNCTIONS and browser-safe globals, because each is serialised with `toString()`.
 */
import type { StatsReport } from "./report.ts";

/** What AUTH (NIP-42) means on this relay, in plain words, from the report's `relay` object. */
export function fmtAuth(relay: StatsReport["relay"]): string {
  if (!relay) return "–";
  if (relay.auth_required_to_read) return "AUTH (NIP-42) required to publish and to read";
  if (relay.auth_required_to_publish) return "AUTH (NIP-42) required to publish; reading is open";
  return "Open relay: no AUTH needed";
}

/** How old an event may be: a duration ago, or any age for 0. */
export function fmtAgo(s: number): string {
  return s ? fmtDur(s) + " ago" : "any age";
}

/** How far ahead an event may be dated. */
export function fmtAhead(s: number): string {
  return "up to " + fmtDur(s) + " ahead";
}

/** A table row: cell texts, and an optional bar length from 0 to 1. */
export interface Row {
  cells: string[];
  bar?: number;
}

/** An integer with thousands separators. */
export function fmtInt(n: number): string {
  return typeof n === "number" ? Math.round(n).toLocaleString("en-US") : "–";
}

/** An events-per-second rate. */
export function fmtRate(n: number): string {
  if (typeof n !== "number") return "–";
  return n === 0 ? "0" : n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US");
}

/** A duration in seconds, as its two largest units. */
export function fmtDur(s: number): string {
  if (typeof s !== "number") return "–";
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
  const m = Math.floor(s % 3600 / 60), sec = Math.floor(s % 60);
  if (d > 0) return d + "d" + (h ? " " + h + "h" : "");
  if (h > 0) return h + "h" + (m ? " " + m + "m" : "");
  if (m > 0) return m + "m" + (sec ? " " + sec + "s" : "");
  return sec + "s";
}

/** Milliseconds, or a dash when unknown. */
export function fmtMs(ms: number | null): string {
  if (typeof ms !== "number") return "–";
  return ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + " s";
}

/** A ratio from 0 to 1 as a percentage. */
export function fmtPct(x: number): string {
  return typeof x === "number" ? Math.round(x * 100) + "%" : "–";
}

/** A yes/no flag. */
export function fmtBool(b: boolean): string {
  return b ? "yes" : "no";
}

/** A plain string (for text that comes from settings). */
export function fmtText(s: unknown): string {
  return s === undefined || s === null ? "–" : String(s);
}

/** A pubkey shortened for display. */
export function shortKey(hex: string): string {
  return hex.length > 16 ? hex.slice(0, 8) + "…" + hex.slice(-4) : hex;
}

/** A kind number with its common name, if it has one. */
export function kindName(kind: number): string {
  const named: Record<number, string> = {
    0: "profile",
    1: "note",
    3: "follows",
    4: "encrypted DM",
    5: "deletion",
    7: "reaction",
    1059: "gift wrap",
    1985: "label",
    7000: "job feedback",
    10002: "relay list",
    22242: "auth",
    30023: "article",
    31990: "handler announcement",
  };
  const name = named[kind] ??
    (kind >= 5000 && kind < 6000
      ? "job request"
      : kind >= 6000 && kind < 7000
      ? "job result"
      : undefined);
  return name ? kind + " · " + name : String(kind);
}

/** A newcomer-friendly name for a kind class. */
export function className(c: string): string {
  const names: Record<string, string> = {
    regular: "Regular (kept)",
    replaceable: "Replaceable (latest kept)",
    ephemeral: "Ephemeral (live only)",
    addressable: "Addressable (latest per d-tag)",
    job_request: "Job requests (5000–5999)",
    job_result: "Job results (6000–6999)",
    job_feedback: "Job feedback (7000)",
    handler: "Handler announcements (31990)",
    label: "Labels (1985)",
  };
  return names[c] ?? c;
}

/** Human names for refusal reason prefixes. */
export function reasonName(r: string): string {
  const names: Record<string, string> = {
    // The relay's own uses of each prefix (README, Protocol), so an operator reads the cause.
    "invalid": "invalid: malformed, bad signature, over a limit or superseded",
    "blocked": "blocked: deleted by its author",
    "pow": "pow: too little proof of work",
    "rate-limited": "rate-limited: too fast",
    "restricted": "restricted: not allowed",
    "auth-required": "auth-required: sign in first",
    "error": "error: relay problem",
  };
  return names[r] ?? r;
}

/** The value at a dotted path of a report, e.g. `connections.now`. */
export function valueAt(r: unknown, path: string): unknown {
  let v = r;
  for (const k of path.split(".")) v = (v as Record<string, unknown> | undefined)?.[k];
  return v;
}

/** Format the value at a path with a named format (the `data-f` attribute of the page). */
export function show(r: unknown, path: string, format: string): string {
  const f: Record<string, (v: never) => string> = {
    int: fmtInt,
    rate: fmtRate,
    dur: fmtDur,
    ms: fmtMs,
    pct: fmtPct,
    bool: fmtBool,
    text: fmtText,
    auth: fmtAuth,
    ago: fmtAgo,
    ahead: fmtAhead,
  };
  return (f[format] ?? fmtText)(valueAt(r, path) as never);
}

/** Rows for the named table, from a report. */
export function rowsFor(list: string, r: StatsReport): Row[] {
  const bars = (pairs: Array<[string, number]>): Row[] => {
    const max = Math.max(1, ...pairs.map((p) => p[1]));
    return pairs.map((p) => ({ cells: [p[0], fmtInt(p[1])], bar: p[1] / max }));
  };
  if (list === "refusals") {
    const e = Object.entries(r.refusals).sort((a, b) => b[1] - a[1]);
    return bars(e.map((p) => [reasonName(p[0]), p[1]]));
  }
  if (list === "classes") {
    return bars(Object.entries(r.kinds.by_class).map((p) => [className(p[0]), p[1]]));
  }
  if (list === "kinds") {
    return bars(r.kinds.top.map((k) => [kindName(k.kind), k.count]));
  }
  if (list === "job-kinds") {
    return r.market.by_kind.map((k) => ({
      cells: [
        kindName(k.kind),
        fmtInt(k.jobs),
        fmtInt(k.results),
        fmtPct(k.success_rate),
        fmtMs(k.median_ms),
        fmtMs(k.p95_ms),
      ],
    }));
  }
  if (list === "providers") {
    return r.market.providers.map((p) => {
      const rep: string[] = [];
      for (const ns of Object.keys(p.reputation)) {
        for (const [label, n] of Object.entries(p.reputation[ns] ?? {})) rep.push(label + " ×" + n);
      }
      return {
        cells: [
          p.name ? p.name + " (" + shortKey(p.pubkey) + ")" : shortKey(p.pubkey),
          fmtInt(p.jobs),
          fmtInt(p.results),
          fmtPct(p.success_rate),
          rep.length ? rep.join(", ") : "–",
        ],
      };
    });
  }
  if (list === "isolates") {
    return r.isolates.map((i) => ({
      cells: [
        i.id,
        fmtInt(i.connections),
        i.verify_threads > 0
          ? fmtInt(i.verify_threads) + (i.verify_threads > 1 ? " threads" : " thread")
          : "inline",
        fmtDur(Math.max(0, (r.generated_at - i.started_at) / 1000)),
        fmtDur(Math.max(0, (r.generated_at - i.last_seen) / 1000)) + " ago",
      ],
    }));
  }
  return [];
}

/** Chart geometry: a polyline per flow over a width×height box, and the y-axis top. */
export function chart(
  series: Record<string, unknown>,
  flows: string[],
  perSecondDivisor: number,
  w: number,
  h: number,
): { max: number; lines: Record<string, string> } {
  // The last bucket is still filling (the minute or second in progress): drawn as a full one, it
  // would dip toward zero at the start of every bucket, so only complete buckets are drawn.
  const done = (f: string) => ((series[f] as number[] | undefined) ?? []).slice(0, -1);
  let top = 0;
  for (const f of flows) {
    for (const v of done(f)) top = Math.max(top, v / perSecondDivisor);
  }
  // A round axis top (1, 2, 5 × 10^n) keeps the scale readable as values move.
  let max = 1;
  if (top > 1) {
    const exp = Math.pow(10, Math.floor(Math.log10(top)));
    max = [1, 2, 5, 10].map((m) => m * exp).find((m) => m >= top) ?? 10 * exp;
  }
  const lines: Record<string, string> = {};
  for (const f of flows) {
    const vals = done(f);
    const n = vals.length;
    const pts: string[] = [];
    for (let i = 0; i < n; i++) {
      const x = n > 1 ? (i / (n - 1)) * w : 0;
      const y = h - (Math.min(vals[i]! / perSecondDivisor, max) / max) * h;
      pts.push(x.toFixed(1) + "," + y.toFixed(1));
    }
    lines[f] = pts.join(" ");
  }
  return { max, lines };
}

/** The functions shipped to the browser, by name. */
export const VIEW_FUNCTIONS = [
  fmtInt,
  fmtRate,
  fmtDur,
  fmtMs,
  fmtPct,
  fmtBool,
  fmtText,
  fmtAuth,
  fmtAgo,
  fmtAhead,
  shortKey,
  kindName,
  className,
  reasonName,
  rowsFor,
  chart,
  valueAt,
  show,
];

/** Source text of VIEW_FUNCTIONS, to embed in the page script. */
export const VIEW_SOURCE = VIEW_FUNCTIONS.map((f) => f.toString()).join("\n");
