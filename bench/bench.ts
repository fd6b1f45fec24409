/**
 * @module `deno task bench`: ingest, query, fan-out, idle-connection and job round-trip phases
 * against a relay it starts (deno task start, temporary KV) or one given with --url, and on request
 * a flood phase (an honest client's OK times while others publish faster than they are served).
 * Events are pre-signed; every answer is checked. Prints a table and writes JSON.
 *
 *   deno task bench [--url ws://...] [--events 5000] [--connections 8] [--inflight 16] [--auth]
 *                   [--phases a,b] [--out f]  (every flag: the parseArgs options below)
 */
import { parseArgs } from "node:util";
import { initNostrWasm } from "nostr-wasm";
import { generateSecretKey, getPublicKey } from "nostr-tools";
import { BenchClient, pct } from "./client.ts";
import { processCpuSeconds, type Relay, startRelay } from "./relay_process.ts";
import type { NostrEvent } from "../nostr/types.ts";

const options = {
  url: { type: "string" },
  events: { type: "string", default: "5000" },
  preload: { type: "string", default: "0" },
  jobs: { type: "string" },
  subscribers: { type: "string", default: "200" },
  rate: { type: "string", default: "100" },
  seconds: { type: "string", default: "5" },
  idle: { type: "string", default: "2000" },
  roundtrips: { type: "string", default: "200" },
  queries: { type: "string", default: "2000" },
  burst: { type: "string", default: "0" },
  "query-inflight": { type: "string", default: "4" },
  // Client connections of the ingest and query phases, and events in flight on each in ingest.
  connections: { type: "string", default: "8" },
  inflight: { type: "string", default: "16" },
  // Flood phase: connections that send all their events at once, and events each.
  flooders: { type: "string", default: "10" },
  "flood-events": { type: "string", default: "2000" },
  feed: { type: "boolean", default: false },
  auth: { type: "boolean", default: false },
  phases: { type: "string", default: "ingest,query,fanout,idle,jobs" },
  out: { type: "string", default: "bench-results/latest.json" },
  help: { type: "boolean", short: "h", default: false },
} as const;
const PHASES = ["ingest", "query", "fanout", "idle", "jobs", "flood"];
const USAGE = "usage: deno task bench [--flag value ...]; flags and defaults:\n" +
  Object.entries(options).map(([k, o]) =>
    `  --${k}${o.type === "string" ? ` <${"default" in o ? o.default : "value"}>` : ""}`
  ).join("\n") + `\nphases: ${PHASES.join(", ")} (flood only when named)`;

/** Stop with a one-line reason and the usage. */
function usageError(msg: string): never {
  console.error(`bench: ${msg}\n${USAGE}`);
  Deno.exit(2);
}

let parsed;
try {
  parsed = parseArgs({ args: Deno.args, options });
} catch (err) {
  usageError(err instanceof Error ? err.message : String(err));
}
const args = parsed.values;
if (args.help) {
  console.log(USAGE);
  Deno.exit(0);
}
// Counts must be whole numbers: a typo would otherwise run a phase on NaN and report NaN.
for (const name of ["preload", "burst"] as const) checkInt(name, 0);
checkInt("jobs", 1);
for (
  const name of [
    "events",
    "subscribers",
    "rate",
    "seconds",
    "idle",
    "roundtrips",
    "queries",
    "query-inflight",
    "connections",
    "inflight",
    "flooders",
    "flood-events",
  ] as const
) checkInt(name, 1);
for (const p of args.phases!.split(",")) {
  if (!PHASES.includes(p)) usageError(`unknown phase "${p}"`);
}
if (args.url !== undefined && !/^wss?:\/\/[^/]/.test(args.url)) {
  usageError(`--url must be a ws:// or wss:// URL, not "${args.url}"`);
}

function checkInt(name: keyof typeof args, min: number): void {
  const v = args[name];
  if (v === undefined || typeof v !== "string") return;
  if (!/^\d+$/.test(v) || Number(v) < min) {
    usageError(`--${name} must be a whole number of at least ${min}, not "${v}"`);
  }
}

const nw = await initNostrWasm();
type Ev = NostrEvent;

function sign(
  sk: Uint8Array,
  t: { kind: number; tags: string[][]; content: string; created_at?: number },
): Ev {
  const ev = { ...t, created_at: t.created_at ?? Math.floor(Date.now() / 1000) } as unknown as Ev;
  nw.finalizeEvent(ev as never, sk);
  return ev;
}

const keys = Array.from({ length: 50 }, () => generateSecretKey());
const pubs = keys.map((k) => getPublicKey(k));
const authKey = generateSecretKey();
const authPub = getPublicKey(authKey);

let relay: Relay | undefined;
let second: Relay | undefined;
// --feed: two single-isolate processes on one KV file; subscribers on one, publishers on the other.
const url = args.url ??
  (relay = await startRelay({ auth: args.auth, entry: args.feed ? "main" : "start" })).url;
const pubUrl = args.feed && relay
  ? (second = await startRelay({ auth: args.auth, entry: "main", kvPath: relay.kvPath })).url
  : url;
const results: Record<string, unknown> = {
  url: args.url ??
    (args.feed
      ? "local: two main.ts processes on one KV (subscribers on one, publishers on the other)"
      : "local (deno task start, temporary KV)"),
  date: new Date().toISOString(),
  cpus: navigator.hardwareConcurrency,
  deno: Deno.version.deno,
};

let authWarned = false;

async function connect(target: string = url, key = authKey): Promise<BenchClient> {
  const c = await BenchClient.connect(target);
  if (args.auth || c.challenge) {
    const answer = await c.auth((challenge) =>
      sign(key, {
        kind: 22242,
        tags: [["relay", target], ["challenge", challenge]],
        content: "",
      })
    );
    if (!answer.ok) {
      // Asked for, it must work; offered by a relay that may not need it, say so once and go on
      // (refusals that follow are counted, and fail the run).
      if (args.auth) throw new Error(`AUTH refused by ${target}: ${answer.message}`);
      if (!authWarned) console.error(`bench: AUTH refused by ${target}: ${answer.message}`);
      authWarned = true;
    }
  }
  return c;
}

/** A data set of regular events with author, kind, #p and #e spread for the query phase. */
function dataset(n: number, base: number): Ev[] {
  const now = Math.floor(Date.now() / 1000);
  const out: Ev[] = [];
  for (let i = 0; i < n; i++) {
    const a = i % keys.length;
    const tags: string[][] = [["p", pubs[(i * 7) % pubs.length]!]];
    if (out.length > 0 && i % 3 === 0) tags.push(["e", out[(i * 13) % out.length]!.id]);
    out.push(sign(keys[a]!, {
      kind: [1, 7, 1111, 30][i % 4]!,
      tags,
      content: `bench ${base + i}`,
      created_at: now - 3600 + Math.floor((i / n) * 3000),
    }));
  }
  return out;
}

/**
 * CPU used by the relay (when the bench started it) and by this generator from now until the
 * returned function is called: on a shared machine the generator's share is the relay's loss.
 */
async function cpuMeter(): Promise<() => Promise<Record<string, number>>> {
  const [r0, s0, g0] = [
    await relay?.cpuSeconds() ?? 0,
    await relay?.cpuSeconds("system") ?? 0,
    await processCpuSeconds("self"),
  ];
  return async () => ({
    // A relay given by --url is another machine's or user's process: its CPU is not ours to read.
    ...(relay
      ? {
        relay_cpu_s: +(await relay.cpuSeconds() - r0).toFixed(2),
        // The kernel's part (socket writes, one per WebSocket frame, and file I/O).
        relay_system_cpu_s: +(await relay.cpuSeconds("system") - s0).toFixed(2),
      }
      : {}),
    generator_cpu_s: +(await processCpuSeconds("self") - g0).toFixed(2),
  });
}

async function ingest(events: Ev[], conns = 8, inflight = 16) {
  const clients = await Promise.all(Array.from({ length: conns }, () => connect()));
  const lat: number[] = [];
  let refused = 0;
  let rateLimited = 0;
  const cpu = await cpuMeter();
  const t0 = performance.now();
  await Promise.all(clients.map((c, k) =>
    new Promise<void>((done) => {
      const mine = events.filter((_, i) => i % conns === k);
      const sentAt = new Map<string, number>();
      let next = 0;
      let acked = 0;
      const send = () => {
        const ev = mine[next++]!;
        sentAt.set(ev.id, performance.now());
        c.send(JSON.stringify(["EVENT", ev]));
      };
      const byId = new Map(mine.map((e) => [e.id, e]));
      c.onOk = (id, ok, msg, at) => {
        if (!ok && msg.startsWith("rate-limited:")) {
          // As a client would: back off and send it again, so every event ends up stored (the
          // query phase checks answers against all of them).
          rateLimited++;
          setTimeout(() => c.send(JSON.stringify(["EVENT", byId.get(id)!])), 100);
          return;
        }
        lat.push(at - sentAt.get(id)!);
        if (!ok && !msg.startsWith("duplicate:") && refused++ < 3) console.error("refused:", msg);
        if (++acked === mine.length) return done();
        if (next < mine.length) send();
      };
      if (mine.length === 0) return done();
      for (let i = 0; i < Math.min(inflight, mine.length); i++) send();
    })
  ));
  const secs = (performance.now() - t0) / 1000;
  const used = await cpu();
  clients.forEach((c) => c.close());
  return {
    events: events.length,
    connections: conns,
    in_flight: inflight,
    events_per_s: Math.round(events.length / secs),
    ack_p50_ms: +pct(lat, 50).toFixed(2),
    ack_p99_ms: +pct(lat, 99).toFixed(2),
    refused,
    rate_limited_resent: rateLimited,
    seconds: +secs.toFixed(2),
    ...used,
  };
}

/**
 * Fairness: `flooders` connections, each its own author, send all their events at once; meanwhile
 * an honest client publishes one event at a time. Its OK times are what a flood costs everyone else.
 */
async function flood(flooders: number, perFlooder: number) {
  const fkeys = Array.from({ length: flooders }, () => generateSecretKey());
  const floods = fkeys.map((k, f) =>
    Array.from(
      { length: perFlooder },
      (_, i) =>
        JSON.stringify(["EVENT", sign(k, { kind: 1, tags: [], content: `flood ${f} ${i}` })]),
    )
  );
  const honestKey = generateSecretKey();
  const clients = await Promise.all(fkeys.map((k) => connect(url, k)));
  const honest = await connect(url, honestKey);
  const total = flooders * perFlooder;
  let acked = 0;
  let refused = 0;
  const floodDone = new Promise<void>((done) =>
    clients.forEach((c) =>
      c.onOk = (_id, ok, msg) => {
        if (!ok && refused++ < 3) console.error("flood refused:", msg);
        if (++acked === total) done();
      }
    )
  );
  const cpu = await cpuMeter();
  const t0 = performance.now();
  clients.forEach((c, f) => floods[f]!.forEach((m) => c.send(m)));
  // Let the flood fill the relay's queues first.
  await new Promise((r) => setTimeout(r, 300));
  const lat: number[] = [];
  let honestRefused = 0;
  for (let i = 0; acked < total; i++) {
    const ev = sign(honestKey, { kind: 1, tags: [], content: `honest ${i}` });
    const sent = performance.now();
    const ok = await new Promise<boolean>((res) => {
      honest.onOk = (_id, ok) => res(ok);
      honest.send(JSON.stringify(["EVENT", ev]));
    });
    if (!ok) honestRefused++;
    lat.push(performance.now() - sent);
  }
  await floodDone;
  const secs = (performance.now() - t0) / 1000;
  const used = await cpu();
  [...clients, honest].forEach((c) => c.close());
  return {
    flooders,
    flood_events: total,
    flood_events_per_s: Math.round(total / secs),
    flood_refused: refused,
    honest_events: lat.length,
    honest_refused: honestRefused,
    honest_ok_p50_ms: +pct(lat, 50).toFixed(2),
    honest_ok_p99_ms: +pct(lat, 99).toFixed(2),
    honest_ok_max_ms: +Math.max(...lat).toFixed(2),
    ...used,
  };
}

function matches(f: Record<string, unknown>, e: Ev): boolean {
  if (f.authors && !(f.authors as string[]).includes(e.pubkey)) return false;
  if (f.kinds && !(f.kinds as number[]).includes(e.kind)) return false;
  if (f.since !== undefined && e.created_at < (f.since as number)) return false;
  for (const t of ["p", "e"]) {
    const want = f[`#${t}`] as string[] | undefined;
    if (want && !e.tags.some((x) => x[0] === t && want.includes(x[1]!))) return false;
  }
  return true;
}

async function query(events: Ev[], n: number, conns = 8, inflight = 4) {
  const sorted = [...events].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1));
  const mid = sorted[Math.floor(sorted.length / 2)]!.created_at;
  const specs: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    const e = events[(i * 7919) % events.length]!;
    const kind = i % 5;
    specs.push(
      kind === 0
        ? { authors: [e.pubkey], limit: 100 }
        : kind === 1
        ? { kinds: [e.kind], limit: 100 }
        : kind === 2
        ? { "#p": [e.tags[0]![1]], limit: 100 }
        : kind === 3
        ? {
          "#e": [(e.tags[1] ?? e.tags[0])![0] === "e" ? e.tags[1]![1] : sorted[0]!.id],
          limit: 100,
        }
        : { kinds: [1], since: mid, limit: 50 },
    );
  }
  // Each filter is checked against the events carrying its first condition's value, newest first,
  // up to its limit: against every event, 10,000 filters over 500,000 took most of an hour.
  const by = new Map<string, Ev[]>();
  const file = (key: string, e: Ev) => by.get(key)?.push(e) ?? by.set(key, [e]);
  for (const e of sorted) {
    file(`a:${e.pubkey}`, e);
    file(`k:${e.kind}`, e);
    for (const t of e.tags) if (t[0] === "p" || t[0] === "e") file(`${t[0]}:${t[1]}`, e);
  }
  const candidates = (f: Record<string, unknown>): Ev[] =>
    f.authors
      ? by.get(`a:${(f.authors as string[])[0]}`) ?? []
      : f["#p"]
      ? by.get(`p:${(f["#p"] as string[])[0]}`) ?? []
      : f["#e"]
      ? by.get(`e:${(f["#e"] as string[])[0]}`) ?? []
      : by.get(`k:${(f.kinds as number[])[0]}`) ?? [];
  const expected = specs.map((f) => {
    const ids: string[] = [];
    for (const e of candidates(f)) {
      if (ids.length === f.limit) break;
      if (matches(f, e)) ids.push(e.id);
    }
    return ids;
  });
  const clients = await Promise.all(Array.from({ length: conns }, () => connect()));
  const lat: number[] = [];
  let wrong = 0, missing = 0, extra = 0, misordered = 0;
  const cpu = await cpuMeter();
  const t0 = performance.now();
  await Promise.all(clients.map((c, k) =>
    new Promise<void>((resolve, reject) => {
      const mine = specs.map((_, i) => i).filter((i) => i % conns === k);
      // A relay that never ends a REQ (no EOSE, no CLOSED) fails the phase instead of hanging it.
      const watchdog = setInterval(() => {
        const now = performance.now();
        for (const [sub, at] of sentAt) {
          if (now - at <= 30_000) continue;
          clearInterval(watchdog);
          return reject(new Error(`no EOSE or CLOSED for REQ ${sub} in 30 s`));
        }
      }, 1000);
      const done = () => {
        clearInterval(watchdog);
        resolve();
      };
      let next = 0, finished = 0;
      // One subscription id per in-flight slot, reused: a REQ with a live id replaces that
      // subscription, so no CLOSE is needed. (A CLOSE followed by a REQ stalls ~40 ms behind
      // Nagle in Deno's WebSocket client, which does not set TCP_NODELAY; most clients do.)
      const slotQuery = new Map<string, number>();
      const got = new Map<string, string[]>();
      const sentAt = new Map<string, number>();
      const send = (sub: string) => {
        const i = mine[next++]!;
        slotQuery.set(sub, i);
        got.set(sub, []);
        sentAt.set(sub, performance.now());
        c.send(JSON.stringify(["REQ", sub, specs[i]]));
      };
      c.onEvent = (sub, id) => got.get(sub)?.push(id);
      c.onEose = (sub, at) => {
        lat.push(at - sentAt.get(sub)!);
        sentAt.delete(sub);
        const i = slotQuery.get(sub)!;
        const ids = got.get(sub)!;
        const want = expected[i]!;
        const wantSet = new Set(want), gotSet = new Set(ids);
        const miss = want.filter((x) => !gotSet.has(x)).length;
        const ext = ids.filter((x) => !wantSet.has(x)).length;
        const order = miss === 0 && ext === 0 && ids.some((x, j) => x !== want[j]);
        missing += miss;
        extra += ext;
        if (order) misordered++;
        if (miss || ext || order) wrong++;
        if (++finished === mine.length) return done();
        if (next < mine.length) send(sub);
      };
      c.onClosed = (sub, msg) => {
        console.error(`REQ ${sub} refused: ${msg}`);
        c.onEose?.(sub, performance.now());
      };
      if (mine.length === 0) return done();
      for (let i = 0; i < Math.min(inflight, mine.length); i++) send(`s${i}`);
    })
  ));
  const secs = (performance.now() - t0) / 1000;
  const used = await cpu();
  const peak = await relay?.peakRssBytes();
  clients.forEach((c) => c.close());
  return {
    stored_events: events.length,
    reqs: n,
    reqs_per_s: Math.round(n / secs),
    eose_p50_ms: +pct(lat, 50).toFixed(2),
    eose_p99_ms: +pct(lat, 99).toFixed(2),
    wrong_answers: wrong,
    missing,
    extra,
    misordered,
    seconds: +secs.toFixed(2),
    ...used,
    // The relay's high-water mark since it started, preload included (none for --url).
    ...(peak ? { relay_peak_rss_mib: +(peak / 2 ** 20).toFixed(1) } : {}),
  };
}

/**
 * Live fan-out: subscribers on `url`, publishers on `pubUrl` (another instance in --feed mode).
 * Paced at `rate` for `seconds`, or with `burst` > 0, that many events sent at once from 20
 * publishers. Every delivery is checked: missed, duplicated, unexpected.
 */
async function fanout(
  subscribers: number,
  rate: number,
  seconds: number,
  burst: number,
  pubUrl: string,
) {
  const publishers = burst > 0 ? 20 : 1;
  const keys = Array.from({ length: publishers }, () => generateSecretKey());
  const authors = keys.map((k) => getPublicKey(k));
  const total = burst > 0 ? burst : rate * seconds;
  const events = Array.from(
    { length: total },
    (_, i) => sign(keys[i % publishers]!, { kind: 1, tags: [], content: `fan ${i}` }),
  );
  const index = new Map(events.map((e, i) => [e.id, i]));
  const sentAt = new Float64Array(total);
  // One byte per (subscriber, event): 5 MB for 500 x 10,000, where maps would take gigabytes.
  const counts = new Uint8Array(subscribers * total);
  const lat: number[] = [];
  let unexpected = 0;
  let lastAt = 0;
  const subs = [];
  for (let i = 0; i < subscribers; i += 50) {
    subs.push(
      ...await Promise.all(Array.from({ length: Math.min(50, subscribers - i) }, () => connect())),
    );
  }
  await Promise.all(subs.map((c, s) => {
    c.onEvent = (_sub, id, _raw, at) => {
      const i = index.get(id);
      if (i === undefined) return void unexpected++;
      const k = s * total + i;
      if (counts[k]! < 255) counts[k]!++;
      lastAt = at;
      if (counts[k] === 1 && (i + s) % 7 === 0) lat.push(at - sentAt[i]!); // a sample is plenty
    };
    // Fresh authors: nothing is stored for them, so everything that arrives is live.
    return c.subscribe("f", { kinds: [1], authors });
  }));
  const pubs = await Promise.all(Array.from({ length: publishers }, () => connect(pubUrl)));
  let refused = 0;
  let acked = 0;
  for (const p of pubs) {
    p.onOk = (_id, ok) => {
      acked++;
      if (!ok) refused++;
    };
  }
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    if (burst === 0) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    sentAt[i] = performance.now();
    pubs[i % publishers]!.send(JSON.stringify(["EVENT", events[i]]));
  }
  // Wait until every delivery arrived, or every event was acknowledged and nothing moved for 10 s.
  let last = -1;
  const deadline = Date.now() + 180_000;
  for (let quiet = 0; quiet < 100 && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 100));
    let got = 0;
    for (let k = 0; k < counts.length; k++) if (counts[k]) got++;
    if (got === counts.length) break;
    quiet = got === last && acked === total ? quiet + 1 : 0;
    last = got;
  }
  let missed = 0, dup = 0;
  for (let k = 0; k < counts.length; k++) {
    if (counts[k] === 0) missed++;
    else dup += counts[k]! - 1;
  }
  subs.forEach((c) => c.close());
  pubs.forEach((c) => c.close());
  return {
    subscribers,
    ...(burst > 0 ? { burst: total } : { rate_per_s: rate, events: total }),
    deliveries_expected: total * subscribers,
    missed,
    duplicates: dup,
    unexpected,
    refused,
    deliveries_per_s: Math.round((total * subscribers - missed) / ((lastAt - t0) / 1000)),
    p50_ms: +pct(lat, 50).toFixed(2),
    p99_ms: +pct(lat, 99).toFixed(2),
  };
}

async function idle(n: number) {
  const before = relay ? await relay.rssBytes() : NaN;
  const conns: BenchClient[] = [];
  for (let i = 0; i < n; i += 100) {
    conns.push(
      ...await Promise.all(
        Array.from({ length: Math.min(100, n - i) }, () => BenchClient.connect(url)),
      ),
    );
  }
  await new Promise((r) => setTimeout(r, 1000));
  const after = relay ? await relay.rssBytes() : NaN;
  conns.forEach((c) => c.close());
  if (!relay) return { connections: n }; // a relay given by --url: its memory is not readable here
  return {
    connections: n,
    relay_rss_before_mib: +(before / 2 ** 20).toFixed(1),
    relay_rss_after_mib: +(after / 2 ** 20).toFixed(1),
    kib_per_connection: +((after - before) / n / 1024).toFixed(1),
  };
}

async function jobs(n: number) {
  const providerSk = generateSecretKey();
  const provider = await connect();
  const customerSk = generateSecretKey();
  const customerPk = getPublicKey(customerSk);
  const customer = await connect();
  await provider.subscribe("jobs", { kinds: [5050], since: Math.floor(Date.now() / 1000) });
  provider.onEvent = (_s, _id, raw) => {
    const job = JSON.parse(raw)[2] as Ev;
    const fb = sign(providerSk, {
      kind: 7000,
      tags: [["status", "processing"], ["e", job.id], ["p", job.pubkey]],
      content: "",
    });
    const res = sign(providerSk, {
      kind: 6050,
      tags: [["request", JSON.stringify(job)], ["e", job.id], ["p", job.pubkey]],
      content: job.content.toUpperCase(),
    });
    provider.send(JSON.stringify(["EVENT", fb]));
    provider.send(JSON.stringify(["EVENT", res]));
  };
  await customer.subscribe("mine", {
    kinds: [6050, 7000],
    "#p": [customerPk],
    since: Math.floor(Date.now() / 1000),
  });
  const lat: number[] = [];
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const job = sign(customerSk, {
      kind: 5050,
      tags: [["i", `job ${i}`, "text"]],
      content: `job ${i}`,
    });
    const t0 = performance.now();
    const ok = await new Promise<boolean>((res) => {
      const timer = setTimeout(() => res(false), 5000);
      customer.onEvent = (_s, _id, raw, at) => {
        const e = JSON.parse(raw)[2] as Ev;
        if (e.kind === 6050 && e.tags.some((t) => t[0] === "e" && t[1] === job.id)) {
          clearTimeout(timer);
          lat.push(at - t0);
          res(true);
        }
      };
      customer.send(JSON.stringify(["EVENT", job]));
    });
    if (!ok) failed++;
  }
  provider.close();
  customer.close();
  return {
    round_trips: n,
    failed,
    p50_ms: +pct(lat, 50).toFixed(2),
    p99_ms: +pct(lat, 99).toFixed(2),
  };
}

const phases = new Set(args.phases!.split(","));
try {
  const n = Number(args.events);
  const data = dataset(n, 0);
  if (phases.has("ingest")) {
    results.ingest = await ingest(data, Number(args.connections), Number(args.inflight));
    console.log("ingest", results.ingest);
  }
  if (phases.has("query")) {
    const preload = Number(args.preload);
    const extra = preload > 0 ? dataset(preload, n) : [];
    if (extra.length) await ingest(extra, 8, 32);
    if (!phases.has("ingest")) await ingest(data, 8, 32);
    results.query = await query(
      [...data, ...extra],
      Number(args.queries),
      Number(args.connections),
      Number(args["query-inflight"]),
    );
    console.log("query", results.query);
  }
  if (phases.has("fanout")) {
    results.fanout = await fanout(
      Number(args.subscribers),
      Number(args.rate),
      Number(args.seconds),
      Number(args.burst),
      pubUrl,
    );
    console.log("fanout", results.fanout);
  }
  if (phases.has("idle")) {
    results.idle = await idle(Number(args.idle));
    console.log("idle", results.idle);
  }
  if (phases.has("flood")) {
    results.flood = await flood(Number(args.flooders), Number(args["flood-events"]));
    console.log("flood", results.flood);
  }
  if (phases.has("jobs")) {
    results.jobs = await jobs(Number(args.jobs ?? args.roundtrips));
    console.log("jobs", results.jobs);
  }
} finally {
  await second?.stop();
  await relay?.stop();
}
// The table first: a results file that cannot be written must not take the figures with it.
console.log("\n| phase | figures |\n| --- | --- |");
for (const [k, v] of Object.entries(results)) {
  if (typeof v !== "object") continue;
  console.log(`| ${k} | ${Object.entries(v as object).map(([a, b]) => `${a} ${b}`).join(", ")} |`);
}
const out = args.out!;
const slash = out.lastIndexOf("/");
if (slash > 0) await Deno.mkdir(out.slice(0, slash), { recursive: true });
await Deno.writeTextFile(out, JSON.stringify(results, null, 2));
console.log(
  `\nresults written to ${out}${args.auth ? ` (authenticated as ${authPub.slice(0, 8)}...)` : ""}`,
);
// Every check is part of the result: a run that found a wrong answer, a lost or repeated delivery
// or a failed job exits non-zero, so a script (or CI) cannot take it for a pass.
const problems = failedChecks(results);
if (problems.length > 0) {
  console.error(`bench: checks failed: ${problems.join(", ")}`);
  Deno.exit(1);
}

/** Every non-zero count of something that should not happen, as `phase.field N`. */
function failedChecks(r: Record<string, unknown>): string[] {
  const bad: Record<string, string[]> = {
    ingest: ["refused"],
    query: ["wrong_answers", "missing", "extra", "misordered"],
    fanout: ["missed", "duplicates", "unexpected", "refused"],
    jobs: ["failed"],
  };
  const found: string[] = [];
  for (const [phase, fields] of Object.entries(bad)) {
    const v = r[phase] as Record<string, number> | undefined;
    for (const f of fields) if (v && v[f]) found.push(`${phase}.${f} ${v[f]}`);
  }
  return found;
}
