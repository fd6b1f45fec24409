/**
 * @module Where an isolate checks signatures: on its own thread, or on worker threads that take
 * the checks (about 0.3 ms of CPU an event) off the thread that frames, stores and fans out. Each
 * source's answers (a connection's) come back in the order it handed events in, as they would on
 * one thread, so its events reach the store in the order it sent them. Between sources the
 * threads are fair: events wait here and go out a few at a time, one from each waiting source in
 * turn, so one client's backlog does not stand ahead of another client's one event.
 */
import { FairQueue } from "../lib/fair_queue.ts";
import type { NostrEvent } from "./types.ts";
import { verifyEvent } from "./verify.ts";
import type { VerifyReply, VerifyRequest } from "./verify_worker.ts";

/** Checks events' ids and signatures. */
export interface Verifier {
  /**
   * True when the id is the hash of the event and the signature is good; undefined when the
   * event was never checked because the verifier closed (the relay is shutting down).
   */
  verify(ev: NostrEvent, source?: unknown): boolean | Promise<boolean | undefined>;
  /** Stop the threads; checks still out are answered undefined, not done. */
  close(): void;
  /** Threads ready and checking (0: every check runs on the calling thread), for operators. */
  readonly threads: number;
}

/** Checks on the calling thread. */
export const inlineVerifier: Verifier = {
  // Not verifyEvent itself: the caller's second argument (the source) is not for it.
  verify: (ev) => verifyEvent(ev),
  close() {},
  threads: 0,
};

/** The script a verification thread runs. */
const VERIFY_WORKER_URL = new URL("./verify_worker.ts", import.meta.url).href;

/** Options for threads; the defaults suit verify_worker.ts. */
export interface VerifierOptions {
  /** The script each thread runs (verify_worker.ts, or one speaking its messages). */
  script?: string;
  /**
   * Events handed in and not yet answered, per thread, past which further ones are checked on the
   * calling thread (still answered in their source's order). That keeps the old bound on a flood:
   * the calling thread slows to the speed of its checks instead of reading ahead and queueing
   * events in memory.
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

/** Events a message to a thread carries at most (about 5 ms of checks). */
const BATCH = 16;
/**
 * Messages a thread may have unanswered: enough queued that it never waits for this thread to
 * send more, few enough that an event handed in now is checked within about 15 ms.
 */
const IN_FLIGHT = 3;

interface Check {
  ev: NostrEvent;
  source: unknown;
  resolve: (ok: boolean | undefined) => void;
  /** The answer once known: undefined for an event never checked (closed). */
  ok?: boolean;
  /** Answered (or given up at close), and resolved as soon as its source's earlier ones are. */
  done: boolean;
}

interface Batch {
  checks: Check[];
  sentAt: number;
}

interface Lane {
  worker: Worker;
  ready: boolean;
  /** Batches sent and not answered, by number. */
  inFlight: Map<number, Batch>;
}

class WorkerVerifier implements Verifier {
  #lanes: Lane[] = [];
  /** Checks not yet sent to a thread, served in turns between sources. */
  #queue = new FairQueue<Check>();
  /** Each source's checks handed in and not yet resolved, oldest first. */
  #bySource = new Map<unknown, Check[]>();
  /** Checks handed in and not yet resolved. */
  #waiting = 0;
  #scheduled = false;
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
      };
      lane.worker.onmessage = (e: MessageEvent<VerifyReply | "ready">) => {
        if (e.data === "ready") {
          lane.ready = true;
          return this.#pump();
        }
        const batch = lane.inFlight.get(e.data.n);
        if (!batch) return;
        lane.inFlight.delete(e.data.n);
        const ok = e.data.ok;
        this.#answer(batch.checks, (_, i) => ok[i] === 1);
        this.#pump();
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
          if (now - b.sentAt > this.#stallMs) {
            this.#drop(lane, `left a batch unanswered for ${this.#stallMs} ms`);
            break;
          }
        }
      }
    }, Math.min(1000, this.#stallMs));
    Deno.unrefTimer(this.#watch);
  }

  /** Threads that said they are ready; one that fails or stalls is dropped, and none after close. */
  get threads(): number {
    return this.#lanes.filter((l) => l.ready).length;
  }

  verify(ev: NostrEvent, source: unknown = this): Promise<boolean | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const check: Check = { ev, source, resolve, done: false };
      const mine = this.#bySource.get(source);
      if (mine) mine.push(check);
      else this.#bySource.set(source, [check]);
      if (++this.#waiting > this.#cap) {
        // Over the cap: check here, now (answered behind the source's earlier events). That
        // keeps the bound on a flood: this thread slows to the speed of its checks instead of
        // reading ahead and queueing events in memory.
        return this.#answer([check], (c) => verifyEvent(c.ev));
      }
      this.#queue.push(source, check);
      if (this.#scheduled) return;
      this.#scheduled = true;
      // Everything handed in during this turn of the event loop is shared out at once.
      queueMicrotask(() => this.#pump());
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watch);
    for (const lane of this.#lanes) lane.worker.terminate();
    this.#lanes = [];
    this.#queue = new FairQueue();
    // Checking the backlog here would block shutdown for as long as it takes (a flood: many
    // seconds); the events' OKs say the relay is shutting down instead.
    this.#answer([...this.#bySource.values()].flat(), () => undefined);
  }

  /** Send waiting checks to threads with room, in turns between sources. */
  #pump(): void {
    this.#scheduled = false;
    if (this.#closed) return;
    while (this.#queue.length > 0) {
      let lane: Lane | undefined;
      for (const l of this.#lanes) {
        if (
          l.ready && l.inFlight.size < IN_FLIGHT && (!lane || l.inFlight.size < lane.inFlight.size)
        ) {
          lane = l;
        }
      }
      if (!lane) {
        // Every thread is busy: the rest wait for an answer. None ready (still starting, or all
        // gone): check here rather than wait.
        if (this.#lanes.some((l) => l.ready)) return;
        const checks = this.#queue.take(Infinity, () => true);
        return this.#answer(checks, (c) => verifyEvent(c.ev));
      }
      const checks = this.#queue.take(BATCH, () => true);
      const n = ++this.#n;
      lane.inFlight.set(n, { checks, sentAt: Date.now() });
      lane.worker.postMessage({ n, events: checks.map((c) => c.ev) } satisfies VerifyRequest);
    }
  }

  /** Record answers, then resolve each touched source's answered checks from its oldest. */
  #answer(checks: Check[], ok: (c: Check, i: number) => boolean | undefined): void {
    const touched = new Set<unknown>();
    checks.forEach((c, i) => {
      touched.add(c.source);
      // At close, checks already answered but waiting behind their source's earlier ones keep
      // their answers.
      if (c.done) return;
      c.ok = ok(c, i);
      c.done = true;
    });
    for (const source of touched) {
      const mine = this.#bySource.get(source);
      if (!mine) continue;
      let n = 0;
      while (n < mine.length && mine[n]!.done) n++;
      if (n === 0) continue;
      const settled = mine.splice(0, n);
      if (mine.length === 0) this.#bySource.delete(source);
      this.#waiting -= n;
      for (const c of settled) c.resolve(c.ok);
    }
  }

  #drop(lane: Lane, why: string): void {
    const i = this.#lanes.indexOf(lane);
    if (i < 0) return;
    console.error(`nexus: a verification thread ${why}; its checks move to the isolate's thread`);
    this.#lanes.splice(i, 1);
    lane.worker.terminate();
    // At most a few batches: a bounded pause.
    const checks = [...lane.inFlight.values()].flatMap((b) => b.checks);
    lane.inFlight.clear();
    this.#answer(checks, (c) => verifyEvent(c.ev));
    this.#pump();
  }
}
