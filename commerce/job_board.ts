/**
 * @module The job board: a live, bounded view of the agent marketplace derived only from stored
 * events. It is rebuilt from the store at start (job kinds within the retention window, handlers,
 * labels, deletions), updated from every accepted event, and refreshed periodically from the store
 * so events stored by other isolates show up too. Every API read is served from memory.
 */
import { getEventHash } from "nostr-tools";
import type { NStore } from "../kv/store.ts";
import { isHex64, parseEvent } from "../nostr/event.ts";
import { expirationOf, isJobKind } from "../nostr/kinds.ts";
import { RecentIds } from "../nostr/recent_ids.ts";
import type { Filter, NostrEvent } from "../nostr/types.ts";
import { type Handler, Handlers, isJobRequestKind } from "./handlers.ts";
import {
  applyAnswer,
  applyRequest,
  feedbackStatus,
  firstOf,
  type Job,
  type JobState,
  jobState,
  noteDeleter,
  placeholderJob,
  removeAnswer,
  sinceRequest,
} from "./job.ts";
import { spread } from "./percentile.ts";
import { Reputation, type ReputationCounts } from "./reputation.ts";
import type { MarketSource, MarketSummary } from "./summary.ts";

/** Settings of a job board. */
export interface JobBoardOptions {
  store: NStore;
  /** Retention of job events in seconds (NEXUS_JOB_TTL_SECONDS). */
  ttlSeconds: number;
  /** Jobs kept in memory; the oldest are evicted first. */
  maxJobs?: number;
  /** Period of the store refresh in ms (0: none). */
  refreshMs?: number;
}

/** One provider's part in a job, as served by the API. */
export interface JobProviderView {
  pubkey: string;
  status: string | null;
  feedback: number;
  results: number;
  time_to_first_feedback_ms: number | null;
  time_to_first_result_ms: number | null;
}

/** A job as served by `/api/jobs`. */
export interface JobView {
  id: string;
  kind: number;
  customer: string;
  state: JobState;
  created_at: number;
  expires_at: number;
  encrypted: boolean;
  request_seen: boolean;
  targets: string[];
  time_to_first_feedback_ms: number | null;
  time_to_first_result_ms: number | null;
  providers: JobProviderView[];
}

/** Volume and speed of a provider (or a kind). */
export interface TradeStats {
  jobs: number;
  results: number;
  success_rate: number;
  median_ms: number | null;
  p95_ms: number | null;
}

/** A provider as served by `/api/providers`. */
export interface ProviderView {
  pubkey: string;
  name?: string;
  about?: string;
  kinds: number[];
  handlers: Array<{ id: string; d: string; kinds: number[]; created_at: number }>;
  stats: TradeStats;
  reputation: ReputationCounts;
}

/** A page of jobs. */
export interface JobPage {
  jobs: JobView[];
  next_cursor: string | null;
}

/** What `/api/jobs` can filter on. */
export interface JobQuery {
  kind?: number;
  state?: JobState;
  provider?: string;
  customer?: string;
  limit?: number;
  cursor?: string;
}

const JOB_KINDS = Array.from({ length: 2001 }, (_, i) => 5000 + i);
const SEEN_MAX = 100_000;
const REFRESH_SLACK_SEC = 120;
const HANDLER_LOAD = 5_000;
const LABEL_LOAD = 20_000;

interface Aggregate {
  at: number;
  version: number;
  byKind: Map<number, TradeStats>;
  byProvider: Map<string, TradeStats>;
  /** Job kinds each provider answered. */
  served: Map<string, Set<number>>;
  counts: MarketSummary["jobs"];
}

/** The marketplace view of one isolate. */
export class JobBoard implements MarketSource {
  readonly store: NStore;
  readonly ttlSeconds: number;
  readonly maxJobs: number;
  readonly reputation = new Reputation();
  readonly handlers = new Handlers();
  /** Resolves when the first rebuild from the store has finished. */
  ready: Promise<void> = Promise.resolve();
  /** Jobs whose request was seen, oldest first. */
  #jobs = new Map<string, Job>();
  /**
   * Jobs known only from answers or deletions, kept apart (and bounded apart) so that answers to
   * requests never seen can neither count in the stats nor push real jobs out.
   */
  #unseen = new Map<string, Job>();
  /**
   * Jobs whose request is gone from the store and whose only trace is a deletion naming its kind
   * (NIP-09's `k` tag), as after a restart: listed and counted as cancelled, nothing else. Kept
   * apart from `#unseen` so that a flood of answers cannot push them out.
   */
  #withdrawn = new Map<string, Job>();
  /** The job each recent answer (feedback or result) names, to follow its deletion. */
  #answerOf = new Map<string, string>();
  #seen = new RecentIds(SEEN_MAX);
  /** `id:pubkey` of recent deletion targets, so an answer delivered after its deletion is dropped. */
  #deleted = new RecentIds(SEEN_MAX);
  /**
   * While a pass over what the store returned: requests gone from it (deleted) as their results
   * quote them in NIP-90's `request` tag, checked against the job id's hash, so the board knows
   * whose job it was. Only the tags the board reads are kept.
   */
  #quoted = new Map<string, NostrEvent>();
  /** True only inside a synchronous pass over what the store returned (never across an await). */
  #fromStore = false;
  #version = 0;
  #sorted: Job[] | undefined;
  #agg: Aggregate | undefined;
  #refreshMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastRefreshSec = 0;
  #closed = false;

  constructor(opts: JobBoardOptions) {
    this.store = opts.store;
    this.ttlSeconds = opts.ttlSeconds;
    this.maxJobs = opts.maxJobs ?? 10_000;
    this.#refreshMs = opts.refreshMs ?? 0;
  }

  /** Rebuild from the store, then refresh periodically. */
  start(): Promise<void> {
    this.ready = this.rebuild().catch((err) => {
      console.error(`nexus: job board rebuild failed: ${err instanceof Error ? err.message : err}`);
    });
    if (this.#refreshMs > 0) {
      this.#timer = setInterval(() => {
        this.refresh().catch(() => {/* the next tick retries */});
      }, this.#refreshMs);
    }
    return this.ready;
  }

  /** Stop refreshing and wait for a running rebuild. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.ready;
  }

  /** Load everything the view needs from the store: jobs within retention, handlers, labels. */
  async rebuild(): Promise<void> {
    await this.#load(nowSec() - this.ttlSeconds, this.maxJobs * 4, HANDLER_LOAD, LABEL_LOAD);
  }

  /** Pick up events stored since the last refresh (by any isolate) and drop long-expired jobs. */
  async refresh(): Promise<void> {
    const since = Math.max(nowSec() - this.ttlSeconds, this.#lastRefreshSec - REFRESH_SLACK_SEC);
    await this.#load(since, this.maxJobs, HANDLER_LOAD, LABEL_LOAD, since);
    this.#prune();
  }

  async #load(
    jobSince: number,
    jobLimit: number,
    handlerLimit: number,
    labelLimit: number,
    since?: number,
  ): Promise<void> {
    const started = nowSec();
    const q = (f: Filter) =>
      this.#closed ? Promise.resolve([]) : this.store.query([f], { internal: true });
    const [handlers, labels, jobs, deletions] = await Promise.all([
      q({ kinds: [31990], since, limit: handlerLimit }),
      q({ kinds: [1985], since, limit: labelLimit }),
      // Job kinds span 2001 kinds: the planner scans the created_at index from `since`.
      q({ kinds: JOB_KINDS, since: jobSince, limit: jobLimit }),
      q({ kinds: [5], since: jobSince, limit: jobLimit }),
    ]);
    const ascending = (a: NostrEvent, b: NostrEvent) =>
      a.created_at - b.created_at || a.kind - b.kind;
    this.#fromStore = true;
    try {
      for (
        const ev of [...handlers, ...labels, ...jobs.sort(ascending), ...deletions.sort(ascending)]
      ) {
        this.ingest(ev);
      }
    } finally {
      this.#fromStore = false;
      this.#quoted.clear();
    }
    this.#lastRefreshSec = started;
  }

  /** Apply one event; `seenMs` is its receipt time when seen live (absent when read from store). */
  ingest(ev: NostrEvent, seenMs?: number): void {
    const relevant = isJobKind(ev.kind) || ev.kind === 5 || ev.kind === 31990 || ev.kind === 1985;
    if (!relevant || !this.#seen.add(ev.id)) return;
    const ms = seenMs ?? ev.created_at * 1000;
    const base = seenMs !== undefined ? Math.floor(seenMs / 1000) : ev.created_at;
    const expiry = Math.min(base + this.ttlSeconds, expirationOf(ev.tags) ?? Infinity);
    if (ev.kind === 31990) this.handlers.add(ev);
    else if (ev.kind === 1985) this.reputation.add(ev);
    else if (ev.kind === 5) this.#delete(ev);
    else if (isJobRequestKind(ev.kind)) {
      if (this.#jobs.has(ev.id)) return;
      const job = this.#unseenJob(ev.id) ?? placeholderJob(ev.id, ev.kind, ev.pubkey, 0, expiry);
      this.#unseen.delete(ev.id);
      this.#withdrawn.delete(ev.id);
      applyRequest(job, ev, ms, expiry);
      // Its author's deletion seen first, whatever its k tags said (the store ignores them).
      if (this.#deleted.has(`${ev.id}:${ev.pubkey}`)) job.cancelled = true;
      bounded(this.#jobs, ev.id, job, this.maxJobs);
    } else {
      const jobId = ev.tags.find((t) => t[0] === "e" && t[1])?.[1];
      if (!jobId) return;
      if (this.#deleted.has(`${ev.id}:${ev.pubkey}`)) return;
      if (this.#fromStore && ev.kind !== 7000 && !this.#jobs.has(jobId)) this.#quote(jobId, ev);
      const job = this.#jobs.get(jobId) ?? this.#placeholder(jobId, ev.kind - 1000, ev, expiry);
      bounded(this.#answerOf, ev.id, jobId, SEEN_MAX);
      applyAnswer(job, {
        id: ev.id,
        kind: ev.kind,
        pubkey: ev.pubkey,
        // Only a status NIP-90 defines is kept: the tag's text could be 64 KB.
        status: feedbackStatus(ev.tags.find((t) => t[0] === "status")?.[1]),
        created_at: ev.created_at,
        ms,
      });
    }
    this.#changed();
  }

  /** The job an answer or deletion names whose request has not been seen. */
  #placeholder(id: string, kind: number, by: NostrEvent, expiry: number): Job {
    let job = this.#unseenJob(id);
    if (!job) {
      job = placeholderJob(id, kind, by.pubkey, by.created_at, expiry);
      bounded(this.#unseen, id, job, this.maxJobs);
    }
    return job;
  }

  #delete(del: NostrEvent): void {
    this.handlers.remove(del);
    const kTag = del.tags.find((t) => t[0] === "k" && isJobRequestKind(Number(t[1])));
    // A deletion that names its kinds and no job request kind among them cancels no job.
    const maybeJobs = kTag !== undefined || !del.tags.some((t) => t[0] === "k");
    for (const t of del.tags) {
      if (t[0] !== "e" || !t[1]) continue;
      this.reputation.remove(t[1], del.pubkey);
      if (isHex64(t[1])) this.#deleted.add(`${t[1]}:${del.pubkey}`);
      const answered = this.#answerOf.get(t[1]);
      if (answered !== undefined) {
        // A provider withdrawing its feedback or result: the job is shown as if it never came.
        const j = this.#jobs.get(answered) ?? this.#unseenJob(answered);
        if (j) removeAnswer(j, t[1], del.pubkey);
        continue;
      }
      const job = this.#jobs.get(t[1]);
      if (job) {
        // NIP-09: only the customer who requested the job can cancel it.
        if (job.customer === del.pubkey) job.cancelled = true;
        continue;
      }
      const quoted = this.#quoted.get(t[1]);
      if (quoted) {
        // Read from the store, and a result quoted the deleted request: its author alone could
        // cancel it, and the job comes back whole (answers and all), as it was before a restart.
        if (quoted.pubkey === del.pubkey) this.ingest(quoted);
        continue;
      }
      // A value that is no event id names no job.
      if (!maybeJobs || !isHex64(t[1])) continue;
      const j = this.#placeholder(t[1], 0, del, del.created_at + this.ttlSeconds);
      // Checked against the request's author if it arrives (see applyRequest); remembered even
      // without a `k` tag, since the request may reach this isolate after its deletion.
      noteDeleter(j, del.pubkey);
      if (kTag && !j.cancelled) {
        // The request may be gone from the store already (deleted, then a restart, or deleted on
        // another isolate before this one saw it): show the cancellation its first deleter named
        // with NIP-09's `k` tag. Anyone can name any id so, but not more than the board's bound,
        // and every isolate, before and after a restart, shows the same.
        j.cancelled = true;
        j.kind = Number(kTag[1]);
        j.customer = del.pubkey;
        this.#unseen.delete(t[1]);
        bounded(this.#withdrawn, t[1], j, this.maxJobs);
      }
    }
  }

  /** Keep the request a result quotes (NIP-90 `request` tag) if it hashes to the job's id. */
  #quote(jobId: string, result: NostrEvent): void {
    if (this.#quoted.has(jobId)) return;
    const text = result.tags.find((t) => t[0] === "request")?.[1];
    if (!text) return;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return;
    }
    const req = parseEvent(raw, { maxEventTags: Infinity, maxContentLength: Infinity });
    if (typeof req === "string" || req.id !== jobId || !isJobRequestKind(req.kind)) return;
    // The id is the hash of everything but the signature: a quote that matches it is the request.
    if (getEventHash(req) !== jobId) return;
    const kept = req.tags.filter((t) =>
      t[0] === "p" || t[0] === "encrypted" || t[0] === "expiration"
    );
    bounded(this.#quoted, jobId, { ...req, content: "", tags: kept }, this.maxJobs);
  }

  /** A job known only from answers or deletions. */
  #unseenJob(id: string): Job | undefined {
    return this.#unseen.get(id) ?? this.#withdrawn.get(id);
  }

  #prune(): void {
    const limit = nowSec() - Math.min(this.ttlSeconds, 3600);
    for (const jobs of [this.#jobs, this.#unseen, this.#withdrawn]) {
      for (const [id, job] of jobs) if (job.expiresAt < limit) jobs.delete(id);
    }
    this.#changed();
  }

  /** A job by id: one whose request was seen, or one known only as cancelled. */
  #shown(id: string): Job | undefined {
    return this.#jobs.get(id) ?? this.#withdrawn.get(id);
  }

  #changed(): void {
    this.#version++;
    this.#sorted = undefined;
  }

  /** Recent jobs, newest first, filtered and paginated by an opaque cursor. */
  jobs(q: JobQuery = {}): JobPage {
    const now = nowSec();
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 500);
    const sorted = this.#sortedJobs();
    let start = 0;
    if (q.cursor) {
      const [t, id] = q.cursor.split(":");
      const ct = Number(t);
      start = sorted.findIndex((j) =>
        j.created_at < ct || (j.created_at === ct && j.id > (id ?? ""))
      );
      if (start < 0) start = sorted.length;
    }
    const out: JobView[] = [];
    let last: Job | undefined;
    let more = false;
    for (let i = start; i < sorted.length; i++) {
      const j = sorted[i]!;
      if (q.kind !== undefined && j.kind !== q.kind) continue;
      if (q.provider && !j.providers.has(q.provider)) continue;
      if (q.customer && j.customer !== q.customer) continue;
      if (q.state && jobState(j, now) !== q.state) continue;
      if (out.length === limit) {
        more = true;
        break;
      }
      out.push(view(j, now));
      last = j;
    }
    return { jobs: out, next_cursor: more && last ? `${last.created_at}:${last.id}` : null };
  }

  /** One job by id. */
  job(id: string): JobView | undefined {
    const j = this.#shown(id);
    return j ? view(j, nowSec()) : undefined;
  }

  /** Providers: authors of job handlers and anyone who answered a job, busiest first. */
  providers(kind?: number): ProviderView[] {
    const agg = this.#aggregate();
    const byPubkey = new Map<string, Handler[]>();
    for (const h of this.handlers.all()) {
      byPubkey.set(h.pubkey, [...(byPubkey.get(h.pubkey) ?? []), h]);
    }
    for (const pk of agg.byProvider.keys()) if (!byPubkey.has(pk)) byPubkey.set(pk, []);
    const out: ProviderView[] = [];
    for (const [pk, hs] of byPubkey) {
      const v = this.#providerView(pk, hs, agg);
      if (kind !== undefined && !v.kinds.includes(kind)) continue;
      out.push(v);
    }
    return out.sort((a, b) => b.stats.jobs - a.stats.jobs || (a.pubkey < b.pubkey ? -1 : 1));
  }

  /** One provider's summary: handlers, stats and reputation (empty parts when unknown). */
  provider(pubkey: string): ProviderView {
    return this.#providerView(
      pubkey,
      this.handlers.all().filter((h) => h.pubkey === pubkey),
      this.#aggregate(),
    );
  }

  #providerView(pubkey: string, hs: Handler[], agg: Aggregate): ProviderView {
    const kinds = new Set<number>();
    for (const h of hs) for (const k of h.kinds) kinds.add(k);
    for (const k of agg.served.get(pubkey) ?? []) kinds.add(k);
    const named = hs.find((h) => h.name);
    const v: ProviderView = {
      pubkey,
      kinds: [...kinds].sort((a, b) => a - b),
      handlers: hs.map((h) => ({ id: h.id, d: h.d, kinds: h.kinds, created_at: h.created_at })),
      stats: agg.byProvider.get(pubkey) ?? emptyStats(),
      reputation: this.reputation.of(pubkey),
    };
    if (named?.name) v.name = named.name;
    const about = hs.find((h) => h.about)?.about;
    if (about) v.about = about;
    return v;
  }

  /** The market summary the HUD and /api/stats show. */
  summary(): MarketSummary {
    const agg = this.#aggregate();
    const names = new Map<string, string>();
    for (const h of this.handlers.all()) {
      if (h.name && !names.has(h.pubkey)) names.set(h.pubkey, h.name);
    }
    const providers = [...agg.byProvider.entries()]
      .sort((a, b) => b[1].jobs - a[1].jobs || (a[0] < b[0] ? -1 : 1))
      .slice(0, 20)
      .map(([pubkey, s]) => {
        const p: MarketSummary["providers"][number] = {
          pubkey,
          jobs: s.jobs,
          results: s.results,
          success_rate: s.success_rate,
          reputation: this.reputation.of(pubkey),
        };
        const name = names.get(pubkey);
        if (name) p.name = name;
        return p;
      });
    // Handlers that announced job kinds but answered nothing yet still belong on the board (issue 4:
    // a handler announcement's name is shown, escaped): they fill the free places, by name order.
    for (const [pubkey, name] of [...names].sort((a, b) => (a[1] < b[1] ? -1 : 1))) {
      if (providers.length >= 20) break;
      if (agg.byProvider.has(pubkey)) continue;
      providers.push({
        pubkey,
        name,
        jobs: 0,
        results: 0,
        success_rate: 0,
        reputation: this.reputation.of(pubkey),
      });
    }
    return {
      window_seconds: this.ttlSeconds,
      jobs: { ...agg.counts },
      by_kind: [...agg.byKind.entries()].sort((a, b) => a[0] - b[0]).map(([kind, s]) => ({
        kind,
        jobs: s.jobs,
        results: s.results,
        success_rate: s.success_rate,
        median_ms: s.median_ms,
        p95_ms: s.p95_ms,
      })),
      providers,
    };
  }

  #sortedJobs(): Job[] {
    this.#sorted ??= [
      ...this.#jobs.values(),
      ...this.#withdrawn.values(),
    ].sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1));
    return this.#sorted;
  }

  /** Per-kind and per-provider statistics; recomputed when jobs changed or a second passed (expiry). */
  #aggregate(): Aggregate {
    const nowMs = Date.now();
    if (this.#agg && this.#agg.version === this.#version && nowMs - this.#agg.at < 1000) {
      return this.#agg;
    }
    const now = Math.floor(nowMs / 1000);
    const counts = { open: 0, completed: 0, failed: 0, expired: 0, cancelled: 0 };
    const kinds = new Map<number, Acc>();
    const provs = new Map<string, Acc>();
    const served = new Map<string, Set<number>>();
    // Jobs known only from a cancellation count as cancelled, and in nothing else.
    counts.cancelled += this.#withdrawn.size;
    for (const j of this.#jobs.values()) {
      const state = jobState(j, now);
      if (state === "success") counts.completed++;
      else if (state === "error") counts.failed++;
      else if (state === "expired") counts.expired++;
      else if (state === "cancelled") counts.cancelled++;
      else counts.open++;
      if (j.kind) {
        const a = acc(kinds, j.kind);
        a.jobs++;
        for (const p of j.providers.values()) a.results += p.results;
        settle(a, state === "success", state === "error" || state === "expired");
        const t = sinceRequest(j, firstOf(j, (p) => p.firstResultMs));
        if (t !== null) a.times.push(t);
      }
      for (const p of j.providers.values()) {
        const a = acc(provs, p.pubkey);
        if (j.kind) {
          let s = served.get(p.pubkey);
          if (!s) served.set(p.pubkey, s = new Set());
          s.add(j.kind);
        }
        a.jobs++;
        a.results += p.results;
        // A cancelled job is neither won nor lost, whatever its providers answered (as by kind).
        const won = state !== "cancelled" && p.status === "success";
        settle(
          a,
          won,
          state !== "cancelled" && !won &&
            (p.status === "error" || state === "expired" || state === "success"),
        );
        const t = sinceRequest(j, p.firstResultMs);
        if (t !== null) a.times.push(t);
      }
    }
    this.#agg = {
      at: nowMs,
      version: this.#version,
      counts,
      served,
      byKind: new Map([...kinds].map(([k, a]) => [k, finish(a)])),
      byProvider: new Map([...provs].map(([k, a]) => [k, finish(a)])),
    };
    return this.#agg;
  }
}

interface Acc {
  jobs: number;
  results: number;
  won: number;
  settled: number;
  times: number[];
}

function acc<K>(m: Map<K, Acc>, k: K): Acc {
  let a = m.get(k);
  if (!a) m.set(k, a = { jobs: 0, results: 0, won: 0, settled: 0, times: [] });
  return a;
}

// Success rate counts settled jobs only: in-flight and cancelled jobs are neither won nor lost.
function settle(a: Acc, won: boolean, lost: boolean): void {
  if (won) a.won++;
  if (won || lost) a.settled++;
}

function finish(a: Acc): TradeStats {
  return {
    jobs: a.jobs,
    results: a.results,
    success_rate: a.settled ? a.won / a.settled : 0,
    ...spread(a.times),
  };
}

function emptyStats(): TradeStats {
  return { jobs: 0, results: 0, success_rate: 0, median_ms: null, p95_ms: null };
}

function view(j: Job, now: number): JobView {
  return {
    id: j.id,
    kind: j.kind,
    customer: j.customer,
    state: jobState(j, now),
    created_at: j.created_at,
    expires_at: j.expiresAt,
    encrypted: j.encrypted,
    request_seen: j.requestSeen,
    targets: j.targets,
    time_to_first_feedback_ms: sinceRequest(j, firstOf(j, (p) => p.firstFeedbackMs)),
    time_to_first_result_ms: sinceRequest(j, firstOf(j, (p) => p.firstResultMs)),
    providers: [...j.providers.values()].map((p) => ({
      pubkey: p.pubkey,
      status: p.status ?? null,
      feedback: p.feedback,
      results: p.results,
      time_to_first_feedback_ms: sinceRequest(j, p.firstFeedbackMs),
      time_to_first_result_ms: sinceRequest(j, p.firstResultMs),
    })),
  };
}

/** Add to an insertion-ordered map, dropping its oldest entry beyond `max`. */
function bounded<V>(m: Map<string, V>, k: string, v: V, max: number): void {
  m.set(k, v);
  if (m.size > max) m.delete(m.keys().next().value!);
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}
