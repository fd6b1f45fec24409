/**
 * @module Where an isolate checks signatures: on its own thread, or on worker threads that take
 * the checks (about 0.3 ms of CPU an event) off the thread that frames, stores and fans out. Answers
 * come back in the order events were handed in, as they would on one thread, so a connection's
 * events reach the store in the order it sent them.
 */
import type { NostrEvent } from "./types.ts";
import { verifyEvent } from "./verify.ts";
import type { VerifyReply, VerifyRequest } from "./verify_worker.ts";

/** Checks events' ids and signatures. */
export interface Verifier {
  /**
   * True when the id is the hash of the event and the signature is good; undefined when the
   * event was never checked because the verifier closed (the relay is shutting down).
   */
  verify(ev: NostrEvent): boolean | Promise<boolean | undefined>;
  /** Stop the threads; checks still out are answered undefined, not done. */
  close(): void;
}

/** Checks on the calling thread. */
export const inlineVerifier: Verifier = { verify: verifyEvent, close() {} };

/** The script a verification thread runs. */
const VERIFY_WORKER_URL = new URL("./verify_worker.ts", import.meta.url).href;

/** Options for threads; the defaults suit verify_worker.ts. */
export interface VerifierOptions {
  /** The script each thread runs (verify_worker.ts, or one speaking its messages). */
  script?: string;
  /**
   * Events a thread may have waiting before further ones are checked on the calling thread
   * (still answered in order). That keeps the old bound on a flood: the calling thread slows to
   * the speed of its checks instead of reading ahead and queueing events in memory.
   */
  perThread?: number;
  /** A thread that leaves a batch unanswered this long is dropped (ms). */
  stallMs?: number;
}

/** A verifier on `threads` worker threads, or on this thread for 0 or if no thread can start. */
export function createVerifier(threads: number, opts: VerifierOptions = {}): Verifier {
  if (threads < 1) return inlineVerifier;
  try {
    return new WorkerVerifier(threads, opts);
  } catch (err) {
    console.warn(`nexus: verification threads unavailable, checking inline: ${err}`);
    return inlineVerifier;
  }
}

interface Batch {
  events: NostrEvent[];
  resolves: Array<(ok: boolean | undefined) => void>;
  /** The answers, once known; null when they never will be (closed). */
  ok?: ArrayLike<number> | null;
  sentAt?: number;
}

interface Lane {
  worker: Worker;
  ready: boolean;
  /** Batches sent and not answered, by number. */
  inFlight: Map<number, Batch>;
  /** Events in those batches: a new batch goes to the lane with the fewest. */
  events: number;
}

class WorkerVerifier implements Verifier {
  #lanes: Lane[] = [];
  #next: Batch = { events: [], resolves: [] };
  #scheduled = false;
  /** Every batch handed out and not yet resolved, oldest first. */
  #order: Batch[] = [];
  /** Events handed in and not yet answered. */
  #waiting = 0;
  #cap: number;
  #stallMs: number;
  #watch: ReturnType<typeof setInterval>;
  #n = 0;
  #closed = false;

  constructor(threads: number, opts: VerifierOptions) {
    const script = opts.script ?? VERIFY_WORKER_URL;
    this.#cap = threads * (opts.perThread ?? 256);
    this.#stallMs = opts.stallMs ?? 10_000;
    for (let i = 0; i < threads; i++) {
      const lane: Lane = {
        worker: new Worker(script, { type: "module" }),
        ready: false,
        inFlight: new Map(),
        events: 0,
      };
      lane.worker.onmessage = (e: MessageEvent<VerifyReply | "ready">) => {
        if (e.data === "ready") {
          lane.ready = true;
          return;
        }
        const batch = lane.inFlight.get(e.data.n);
        if (!batch) return;
        lane.inFlight.delete(e.data.n);
        lane.events -= batch.events.length;
        batch.ok = e.data.ok;
        this.#settle();
      };
      // A thread that fails (out of memory, a bug) must not take the isolate with it: its
      // batches are checked here and it gets no more.
      lane.worker.onerror = (e) => {
        e.preventDefault();
        this.#drop(lane, `failed: ${e.message}`);
      };
      lane.worker.onmessageerror = () => this.#drop(lane, "sent an unreadable message");
      this.#lanes.push(lane);
    }
    // A thread can also stop without an error (a bug, the runtime): its events would wait for
    // their OK forever.
    this.#watch = setInterval(() => {
      const now = Date.now();
      for (const lane of [...this.#lanes]) {
        for (const b of lane.inFlight.values()) {
          if (now - b.sentAt! > this.#stallMs) {
            this.#drop(lane, `left a batch unanswered for ${this.#stallMs} ms`);
            break;
          }
        }
      }
    }, Math.min(1000, this.#stallMs));
    Deno.unrefTimer(this.#watch);
  }

  verify(ev: NostrEvent): Promise<boolean | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiting++;
      if (this.#waiting > this.#cap) {
        // Over the cap: check here, now, behind everything handed in before.
        if (this.#next.events.length) this.#flush();
        this.#order.push({ events: [ev], resolves: [resolve], ok: [verifyEvent(ev) ? 1 : 0] });
        return this.#settle();
      }
      this.#next.events.push(ev);
      this.#next.resolves.push(resolve);
      if (this.#scheduled) return;
      this.#scheduled = true;
      // Everything handed in during this turn of the event loop travels as one message.
      queueMicrotask(() => this.#flush());
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watch);
    for (const lane of this.#lanes) lane.worker.terminate();
    this.#lanes = [];
    // Checking the backlog here would block shutdown for as long as it takes (a flood: many
    // seconds); the events' OKs say the relay is shutting down instead.
    if (this.#next.events.length) this.#order.push(this.#next);
    this.#next = { events: [], resolves: [] };
    for (const b of this.#order) b.ok ??= null;
    this.#settle();
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#next;
    if (!batch.events.length) return;
    this.#next = { events: [], resolves: [] };
    this.#order.push(batch);
    if (this.#closed) {
      batch.ok = null;
      return this.#settle();
    }
    let lane: Lane | undefined;
    for (const l of this.#lanes) if (l.ready && (!lane || l.events < lane.events)) lane = l;
    if (!lane) {
      // No thread is ready (still starting, or all gone): check here rather than wait.
      batch.ok = batch.events.map((ev) => verifyEvent(ev) ? 1 : 0);
      return this.#settle();
    }
    const n = ++this.#n;
    batch.sentAt = Date.now();
    lane.inFlight.set(n, batch);
    lane.events += batch.events.length;
    lane.worker.postMessage({ n, events: batch.events } satisfies VerifyRequest);
  }

  /** Resolve answered batches from the oldest, stopping at the first still out. */
  #settle(): void {
    while (this.#order[0]?.ok !== undefined) {
      const { resolves, ok } = this.#order.shift()!;
      this.#waiting -= resolves.length;
      for (let i = 0; i < resolves.length; i++) resolves[i]!(ok ? ok[i] === 1 : undefined);
    }
  }

  #drop(lane: Lane, why: string): void {
    const i = this.#lanes.indexOf(lane);
    if (i < 0) return;
    console.error(`nexus: a verification thread ${why}; its checks move to the isolate's thread`);
    this.#lanes.splice(i, 1);
    lane.worker.terminate();
    // At most the cap's worth of events: a bounded pause.
    for (const batch of lane.inFlight.values()) {
      batch.ok = batch.events.map((ev) => verifyEvent(ev) ? 1 : 0);
    }
    lane.inFlight.clear();
    lane.events = 0;
    this.#settle();
  }
}
