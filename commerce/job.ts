/**
 * @module One NIP-90 job and its state machine, derived only from the tags of the request, its
 * feedback (kind 7000), its results (6000-6999) and a kind 5 deletion by the customer. Content is
 * never read, so encrypted jobs are tracked like any other.
 */

/** Every state a job can be in on the board. */
export type JobState =
  | "requested"
  | "payment-required"
  | "processing"
  | "partial"
  | "success"
  | "error"
  | "cancelled"
  | "expired";

/** Every job state, for validating query parameters. */
export const JOB_STATES: readonly JobState[] = [
  "requested",
  "payment-required",
  "processing",
  "partial",
  "success",
  "error",
  "cancelled",
  "expired",
];

/** NIP-90 feedback statuses a provider can report. */
export type FeedbackStatus = "payment-required" | "processing" | "partial" | "success" | "error";

// When providers disagree, the job shows the most advanced answer: one success beats any errors.
const RANK: Record<FeedbackStatus, number> = {
  "error": 1,
  "payment-required": 2,
  "processing": 3,
  "partial": 4,
  "success": 5,
};

/** A feedback `status` tag's value if NIP-90 defines it (own keys only: not "constructor"). */
export function feedbackStatus(status: string | undefined): FeedbackStatus | undefined {
  return status !== undefined && Object.hasOwn(RANK, status) ? status as FeedbackStatus : undefined;
}

/** What one provider did for one job. */
export interface ProviderTrack {
  pubkey: string;
  status: FeedbackStatus | undefined;
  /** created_at of the feedback that set `status`, so late-arriving older feedback cannot win. */
  statusAt: number;
  feedback: number;
  results: number;
  firstFeedbackMs: number | undefined;
  firstResultMs: number | undefined;
}

/** A job as the board knows it. */
export interface Job {
  id: string;
  kind: number;
  customer: string;
  created_at: number;
  /** When the request was seen (ms): receipt time when live, created_at when rebuilt from store. */
  requestMs: number | undefined;
  /** Unix seconds after which an unfinished job is expired (retention or NIP-40 expiration). */
  expiresAt: number;
  encrypted: boolean;
  /** Providers the customer addressed with `p` tags. */
  targets: string[];
  providers: Map<string, ProviderTrack>;
  cancelled: boolean;
  /** False while only feedback, results or deletions were seen (they can precede the request). */
  requestSeen: boolean;
  /** Who asked to delete the job before its request arrived: only its author's request counts. */
  cancelledBy: Set<string>;
  /** Answers that arrived before the request, applied (and checked) once it does. */
  pending: Answer[];
  /**
   * Answers applied, so that one its author deletes can be taken back; undefined once there were
   * too many to keep (deletions are then not followed for this job).
   */
  applied: Answer[] | undefined;
  /** Authors with more answers than `applied` keeps for one author: their deletions are not followed. */
  overflowed: Set<string>;
}

/** A feedback (kind 7000) or result (6000-6999) as the board needs it. */
export interface Answer {
  id: string;
  kind: number;
  pubkey: string;
  /** The feedback's `status` tag. */
  status: string | undefined;
  created_at: number;
  /** When it was seen (ms). */
  ms: number;
}

/**
 * Answers, and deleters, kept for a request not seen yet; anyone can publish those, so they are
 * bounded.
 */
const MAX_PENDING = 64;
const PENDING_EACH = 4;
const MAX_APPLIED = 256;
/** Answers of one author kept for replay: one key's flood stops following only its own deletions. */
const APPLIED_EACH = 16;

/** A job known only from an answer to it, until (if ever) the request itself arrives. */
export function placeholderJob(
  id: string,
  kind: number,
  customer: string,
  createdAt: number,
  expiresAt: number,
): Job {
  return {
    id,
    kind,
    customer,
    created_at: createdAt,
    requestMs: undefined,
    expiresAt,
    encrypted: false,
    targets: [],
    providers: new Map(),
    cancelled: false,
    requestSeen: false,
    cancelledBy: new Set(),
    pending: [],
    applied: [],
    overflowed: new Set(),
  };
}

/** Record the request itself. */
export function applyRequest(
  job: Job,
  ev: { pubkey: string; kind: number; created_at: number; tags: string[][] },
  seenMs: number,
  expiresAt: number,
): void {
  job.kind = ev.kind;
  job.customer = ev.pubkey;
  job.created_at = ev.created_at;
  job.requestMs = seenMs;
  job.expiresAt = expiresAt;
  job.encrypted = ev.tags.some((t) => t[0] === "encrypted");
  job.targets = ev.tags.filter((t) => t[0] === "p" && t[1]).map((t) => t[1]!);
  job.requestSeen = true;
  // NIP-09: a deletion by anyone but the request's author cancels nothing.
  job.cancelled = job.cancelledBy.has(ev.pubkey);
  const pending = job.pending;
  job.cancelledBy = new Set();
  job.pending = [];
  for (const a of pending) applyAnswer(job, a);
}

/** Remember who asked to delete a job whose request has not been seen. */
export function noteDeleter(job: Job, pubkey: string): void {
  if (job.cancelledBy.size < MAX_PENDING) job.cancelledBy.add(pubkey);
}

/**
 * Record a feedback or result. Before the request is seen it waits (bounded); after, a result
 * counts only when its kind is the request's plus 1000, as NIP-90 requires.
 */
export function applyAnswer(job: Job, a: Answer): void {
  if (!job.requestSeen) {
    // A few from each author, so one key cannot fill the room before a provider's answer.
    const mine = job.pending.reduce((n, p) => n + (p.pubkey === a.pubkey ? 1 : 0), 0);
    if (job.pending.length < MAX_PENDING && mine < PENDING_EACH) job.pending.push(a);
    return;
  }
  if (a.kind !== 7000 && a.kind !== job.kind + 1000) return;
  // Bounded per author: one key's flood stops following only its own deletions.
  if (job.applied) {
    const mine = job.applied.reduce((n, p) => n + (p.pubkey === a.pubkey ? 1 : 0), 0);
    if (mine < APPLIED_EACH && job.applied.length < MAX_APPLIED) job.applied.push(a);
    else if (mine >= APPLIED_EACH) job.overflowed.add(a.pubkey);
    else job.applied = undefined;
  }
  applyOne(job, a);
}

function applyOne(job: Job, a: Answer): void {
  if (a.kind === 7000) applyFeedback(job, a.pubkey, a.status, a.created_at, a.ms);
  else applyResult(job, a.pubkey, a.ms);
}

/** Take back an answer its author deleted (NIP-09); true when the job changed. */
export function removeAnswer(job: Job, id: string, by: string): boolean {
  const waiting = job.pending.findIndex((a) => a.id === id && a.pubkey === by);
  if (waiting >= 0) {
    job.pending.splice(waiting, 1);
    return true;
  }
  if (job.overflowed.has(by)) return false;
  const i = job.applied?.findIndex((a) => a.id === id && a.pubkey === by) ?? -1;
  if (i < 0) return false;
  job.applied!.splice(i, 1);
  // Tracks are per author: rebuild only the deleter's, in place (keeps the providers' order).
  const others = job.providers;
  job.providers = new Map();
  for (const a of job.applied!) if (a.pubkey === by) applyOne(job, a);
  const mine = job.providers.get(by);
  job.providers = others;
  if (mine) others.set(by, mine);
  else others.delete(by);
  return true;
}

function track(job: Job, pubkey: string): ProviderTrack {
  let p = job.providers.get(pubkey);
  if (!p) {
    p = {
      pubkey,
      status: undefined,
      statusAt: -1,
      feedback: 0,
      results: 0,
      firstFeedbackMs: undefined,
      firstResultMs: undefined,
    };
    job.providers.set(pubkey, p);
  }
  return p;
}

/** Record a kind 7000 feedback from a provider; unknown statuses count as feedback only. */
export function applyFeedback(
  job: Job,
  provider: string,
  status: string | undefined,
  createdAt: number,
  seenMs: number,
): void {
  const p = track(job, provider);
  p.feedback++;
  if (p.firstFeedbackMs === undefined || seenMs < p.firstFeedbackMs) p.firstFeedbackMs = seenMs;
  if (feedbackStatus(status) === undefined) return;
  // A delivered result is final for that provider; later feedback does not undo it.
  if (p.results > 0) return;
  if (createdAt >= p.statusAt) {
    p.status = status as FeedbackStatus;
    p.statusAt = createdAt;
  }
}

/** Record a result (kind 6000-6999) from a provider. */
export function applyResult(job: Job, provider: string, seenMs: number): void {
  const p = track(job, provider);
  p.results++;
  if (p.firstResultMs === undefined || seenMs < p.firstResultMs) p.firstResultMs = seenMs;
  p.status = "success";
}

/** The job's state at a time (unix seconds). */
export function jobState(job: Job, nowSec: number): JobState {
  if (job.cancelled) return "cancelled";
  let best: FeedbackStatus | undefined;
  for (const p of job.providers.values()) {
    if (p.status && (!best || RANK[p.status] > RANK[best])) best = p.status;
  }
  if (best === "success" || best === "error") return best;
  if (nowSec >= job.expiresAt) return "expired";
  return best ?? "requested";
}

/** Milliseconds from the request to a later moment, or null when either is unknown. */
export function sinceRequest(job: Job, ms: number | undefined): number | null {
  if (ms === undefined || job.requestMs === undefined) return null;
  return Math.max(0, ms - job.requestMs);
}

/** The earliest of a per-provider time across all providers of a job. */
export function firstOf(
  job: Job,
  pick: (p: ProviderTrack) => number | undefined,
): number | undefined {
  let out: number | undefined;
  for (const p of job.providers.values()) {
    const v = pick(p);
    if (v !== undefined && (out === undefined || v < out)) out = v;
  }
  return out;
}
