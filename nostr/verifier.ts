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
  /** True when the id is the hash of the event and the signature is good. */
  verify(ev: NostrEvent): boolean | Promise<boolean>;
  /** Stop the threads; checks still waiting are done on this thread. */
  close(): void;
}

/** Checks on the calling thread. */
export const inlineVerifier: Verifier = { verify: verifyEvent, close() {} };

/** The script a verification thread runs. */
export const VERIFY_WORKER_URL = new URL("./verify_worker.ts", import.meta.url).href;

/**
 * A verifier on `threads` worker threads running `script` (verify_worker.ts, or one speaking its
 * messages), or on this thread for 0 or if no thread can start.
 */
export function createVerifier(threads: number, script = VERIFY_WORKER_URL): Verifier {
  if (threads < 1) return inlineVerifier;
  try {
    return new WorkerVerifier(threads, script);
  } catch (err) {
    console.warn(`nexus: verification threads unavailable, checking inline: ${err}`);
    return inlineVerifier;
  }
}

interface Batch {
  events: NostrEvent[];
  resolves: Array<(ok: boolean) => void>;
  ok?: ArrayLike<number>;
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
  #n = 0;
  #closed = false;

  constructor(threads: number, script: string) {
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
        console.error("nexus: a verification thread failed:", e.message);
        this.#drop(lane);
      };
      lane.worker.onmessageerror = () => this.#drop(lane);
      this.#lanes.push(lane);
    }
  }

  verify(ev: NostrEvent): Promise<boolean> {
    return new Promise((resolve) => {
      this.#next.events.push(ev);
      this.#next.resolves.push(resolve);
      if (this.#scheduled) return;
      this.#scheduled = true;
      // Everything handed in during this turn of the event loop travels as one message.
      queueMicrotask(() => this.#flush());
    });
  }

  close(): void {
    this.#closed = true;
    for (const lane of [...this.#lanes]) this.#drop(lane);
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#next;
    this.#next = { events: [], resolves: [] };
    this.#order.push(batch);
    let lane: Lane | undefined;
    for (const l of this.#lanes) if (l.ready && (!lane || l.events < lane.events)) lane = l;
    if (!lane || this.#closed) {
      // No thread is ready (still starting, or all gone): check here rather than wait.
      batch.ok = batch.events.map((ev) => verifyEvent(ev) ? 1 : 0);
      return this.#settle();
    }
    const n = ++this.#n;
    lane.inFlight.set(n, batch);
    lane.events += batch.events.length;
    lane.worker.postMessage({ n, events: batch.events } satisfies VerifyRequest);
  }

  /** Resolve answered batches from the oldest, stopping at the first still out. */
  #settle(): void {
    while (this.#order[0]?.ok) {
      const { resolves, ok } = this.#order.shift()!;
      for (let i = 0; i < resolves.length; i++) resolves[i]!(ok![i] === 1);
    }
  }

  #drop(lane: Lane): void {
    const i = this.#lanes.indexOf(lane);
    if (i < 0) return;
    this.#lanes.splice(i, 1);
    lane.worker.terminate();
    for (const batch of lane.inFlight.values()) {
      batch.ok = batch.events.map((ev) => verifyEvent(ev) ? 1 : 0);
    }
    lane.inFlight.clear();
    lane.events = 0;
    this.#settle();
  }
}
