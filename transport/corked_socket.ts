/**
 * @module A server-side WebSocket over a TCP connection whose outgoing frames are corked: every
 * frame sent while a write is in flight, or in the same turn of the event loop, goes out in one
 * write. Deno's own WebSocket makes one system call a frame, which costs more CPU than the relay's
 * work on a REQ answer of many events (BENCHMARKS.md, "A transport that corks its writes").
 */
import { CloseCode, closePayload, frameHeader, FrameReader, type Incoming, Op } from "./frames.ts";
import type { InHandShare } from "./in_hand_share.ts";

/** What a socket reports to its owner. */
export interface SocketHandlers {
  /** The handshake is sent: the socket may speak. */
  open(): void;
  /** A text message; a promise while the owner is still handling it (see maxBusy). */
  message(data: string): void | Promise<unknown>;
  /** A binary message. */
  binary(data: Uint8Array): void;
  /** The connection is gone; called once. */
  closed(): void;
}

/** Options of one socket. */
export interface CorkedSocketOptions {
  /** Largest message, all fragments together; a larger one closes the socket with 1009. */
  maxMessageBytes: number;
  /** How long a peer may take to answer our close frame before the TCP connection is cut. */
  closeWaitMs?: number;
  /**
   * How long a close frame may wait behind unsent data without any of it being taken, before the
   * connection is cut: a slow reader still gets its NOTICE and close frame, a dead one is dropped.
   */
  stallMs?: number;
  /**
   * Messages the owner may be handling at once (those whose promise is unsettled): the rest of a
   * read waits its turn, and the socket reads no more until half are done. TCP then makes a client
   * that sends faster than it is served wait, instead of the relay queueing its messages in memory
   * ahead of every other client's.
   */
  maxBusy?: number;
  /** Shared with the listener's other sockets: then this holds at most its share (and maxBusy). */
  share?: InHandShare;
}

const enum State {
  Open,
  Closing,
  Closed,
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
/**
 * Buffers are small until traffic needs more, since every idle connection holds its read buffer
 * (10,000 of them are meant to fit in 30 KiB each).
 */
const SMALL_READ_BYTES = 2048;
const LARGE_READ_BYTES = 64 * 1024;
const MIN_WRITE_BYTES = 4096;
/** Pings are not answered while this much is waiting to be written. */
const PONG_QUEUE_LIMIT = 64 * 1024;

/** One accepted WebSocket connection. */
export class CorkedSocket {
  #state = State.Open;
  #reader: FrameReader;
  #handlers: SocketHandlers | undefined;
  /** Frames waiting for the next write, and their total size. */
  #out: Uint8Array;
  #outLen = 0;
  #inFlight = 0;
  #writing = false;
  #flushQueued = false;
  /** Close TCP once what is queued is written (after answering the peer's close). */
  #endAfterFlush = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #closeWaitMs: number;
  readonly #stallMs: number;
  /** Bytes ever queued and ever written; the close frame is out once written passes its mark. */
  #queued = 0;
  #written = 0;
  #closeMark = Infinity;
  #closeSentAt = 0;
  #lastProgress = 0;
  /** Messages handed to the owner and not yet handled; at #cap() the rest wait in #backlog. */
  #busy = 0;
  readonly #maxBusy: number;
  readonly #share: InHandShare | undefined;
  /** Text messages read but not yet handed out (#backlog[#backlogHead] first). */
  #backlog: string[] = [];
  #backlogHead = 0;
  #resume: (() => void) | undefined;
  /** When a frame last arrived (ms), for the idle check. */
  lastHeard = Date.now();
  /** A ping was sent since the last frame arrived. */
  pinged = false;

  constructor(readonly conn: Deno.Conn, options: CorkedSocketOptions) {
    this.#reader = new FrameReader(options.maxMessageBytes);
    this.#closeWaitMs = options.closeWaitMs ?? 2000;
    this.#stallMs = options.stallMs ?? 10_000;
    this.#maxBusy = options.maxBusy ?? 128;
    this.#share = options.share;
    this.#out = EMPTY;
  }

  /** True while reading waits for the owner to handle earlier messages (not idle, then). */
  get paused(): boolean {
    return this.#resume !== undefined;
  }

  /** True until a close starts, from either side. */
  get open(): boolean {
    return this.#state === State.Open;
  }

  /** Bytes sent but not yet taken by the kernel. */
  get bufferedAmount(): number {
    return this.#outLen + this.#inFlight;
  }

  /** Start reading, `initial` being bytes that arrived with the handshake. */
  start(handlers: SocketHandlers, initial?: Uint8Array): void {
    this.#handlers = handlers;
    handlers.open();
    // Taken here, not in #read, whose suspended frame would hold the handshake's buffer for good.
    if (initial?.length) this.#take(initial);
    this.#read().catch(() => this.#end());
  }

  /** Queue a text message. */
  send(data: string): void {
    if (this.#state !== State.Open) return;
    this.#frame(Op.text, encoder.encode(data));
  }

  /** Queue a ping; the peer's pong (any frame, really) shows it is alive. */
  ping(): void {
    if (this.#state !== State.Open) return;
    this.pinged = true;
    this.#frame(Op.ping, new Uint8Array(0));
  }

  /** Queue raw bytes ahead of any frame (the handshake's response). */
  writeRaw(bytes: Uint8Array): void {
    this.#queue(bytes);
  }

  /** Cut the TCP connection now, without a closing handshake. */
  terminate(): void {
    this.#end();
  }

  /** Start the closing handshake; the TCP connection ends when the peer answers or after a wait. */
  close(code: number = CloseCode.normal, reason = ""): void {
    if (this.#state !== State.Open) return;
    this.#startClose(closePayload(code, reason));
  }

  /** Queue a close frame and start watching for the end of the connection. */
  #startClose(payload: Uint8Array): void {
    this.#state = State.Closing;
    // No text is handed out once closing (a peer's close hands out the backlog first): read on,
    // to see the peer's answer.
    this.#backlog = [];
    this.#backlogHead = 0;
    this.#wake();
    this.#frame(Op.close, payload);
    this.#closeMark = this.#queued;
    this.#lastProgress = Date.now();
    this.#watchClose();
  }

  /** Cut the connection once the peer had its time to answer our close, or stopped reading. */
  #watchClose(): void {
    this.#closeTimer = setTimeout(() => {
      const now = Date.now();
      const out = this.#written >= this.#closeMark;
      if (
        out
          ? now - this.#closeSentAt >= this.#closeWaitMs
          : now - this.#lastProgress >= this.#stallMs
      ) {
        return this.#end();
      }
      this.#watchClose();
    }, Math.min(250, this.#closeWaitMs));
  }

  async #read(): Promise<void> {
    const small = new Uint8Array(SMALL_READ_BYTES);
    let buf = small;
    while (this.#state !== State.Closed) {
      const n = await this.conn.read(buf);
      if (n === null) break;
      this.#take(buf.subarray(0, n));
      // A full read means more is waiting: read large until a read comes back short.
      buf = n === buf.length ? (buf === small ? new Uint8Array(LARGE_READ_BYTES) : buf) : small;
      // Paused only while open (#take may have started or finished a close).
      if (this.#waitingOnOwner() && (this.#state as State) === State.Open) {
        await new Promise<void>((r) => this.#resume = r);
        this.lastHeard = Date.now();
      }
    }
    this.#end();
  }

  /** Messages the owner may have in hand now: fewer while other sockets of the share are busy. */
  #cap(): number {
    return this.#share ? Math.min(this.#maxBusy, this.#share.cap) : this.#maxBusy;
  }

  /** True while the owner has too much in hand to read more. */
  #waitingOnOwner(): boolean {
    return this.#busy >= this.#cap() || this.#backlogHead < this.#backlog.length;
  }

  readonly #handled = () => {
    if (--this.#busy === 0) this.#share?.leave();
    const cap = this.#cap();
    this.#handOutBacklog(cap);
    if (this.#backlogHead === this.#backlog.length && this.#backlogHead > 0) {
      this.#backlog = [];
      this.#backlogHead = 0;
    }
    if (this.#resume && this.#busy <= cap >> 1 && !this.#backlog.length) this.#wake();
  };

  /**
   * Hand out what waits in the backlog, oldest first, while fewer than `cap` are in hand; before a
   * close, all of it (at most one read's worth).
   */
  #handOutBacklog(cap = Infinity): void {
    while (this.#busy < cap && this.#backlogHead < this.#backlog.length) {
      const data = this.#backlog[this.#backlogHead]!;
      this.#backlog[this.#backlogHead++] = "";
      this.#handOut(data);
    }
  }

  /** Give a text message to the owner, counting it until its handling settles. */
  #handOut(data: string): void {
    if (this.#state !== State.Open) return;
    const handling = this.#handlers?.message(data);
    if (handling) {
      if (this.#busy++ === 0) this.#share?.join();
      handling.then(this.#handled, this.#handled);
    }
  }

  #wake(): void {
    const resume = this.#resume;
    this.#resume = undefined;
    resume?.();
  }

  /** Handle bytes from the peer. */
  #take(bytes: Uint8Array): void {
    this.lastHeard = Date.now();
    this.pinged = false;
    for (const m of this.#reader.push(bytes)) this.#dispatch(m);
    const failed = this.#reader.failed;
    if (failed && this.#state === State.Open) {
      this.#handOutBacklog(); // messages before the violation are kept, as they always were
      this.close(failed.code, failed.message);
      // Nothing more will be read: do not wait for the peer's close.
      this.#endAfterFlush = true;
      this.#flushSoon();
    }
  }

  #dispatch(m: Incoming): void {
    if (this.#state === State.Closed) return;
    switch (m.type) {
      case "text":
        if (this.#state !== State.Open) return;
        // Past its cap in hand, the rest of this read waits its turn, in order.
        if (this.#busy >= this.#cap() || this.#backlog.length) this.#backlog.push(m.data);
        else this.#handOut(m.data);
        return;
      case "binary":
        if (this.#state === State.Open) this.#handlers?.binary(m.data);
        return;
      case "ping":
        // A peer that pings without reading must not grow our queue: a later pong will do.
        if (this.#state === State.Open && this.#outLen < PONG_QUEUE_LIMIT) {
          this.#frame(Op.pong, m.data);
        }
        return;
      case "pong":
        return;
      case "close":
        if (this.#state === State.Open) {
          // What the peer sent before its close is still its to the last message.
          this.#handOutBacklog();
          // Echo the code (RFC 6455 section 5.5.1), then end once it is written.
          // Watched too: a peer that closes but reads nothing would keep the echo queued forever.
          this.#startClose(m.code === undefined ? EMPTY : closePayload(m.code));
          this.#endAfterFlush = true;
          this.#flushSoon();
        } else {
          this.#end(); // the answer to our close
        }
    }
  }

  #frame(op: number, payload: Uint8Array): void {
    this.#queue(frameHeader(op, payload.length));
    this.#queue(payload);
  }

  #queue(bytes: Uint8Array): void {
    if (this.#state === State.Closed) return;
    const need = this.#outLen + bytes.length;
    if (need > this.#out.length) {
      const grown = new Uint8Array(Math.max(need, this.#out.length * 2, MIN_WRITE_BYTES));
      grown.set(this.#out.subarray(0, this.#outLen));
      this.#out = grown;
    }
    this.#out.set(bytes, this.#outLen);
    this.#outLen = need;
    this.#queued += bytes.length;
    this.#flushSoon();
  }

  /** Write what is queued at the end of this turn, or when the write in flight is done. */
  #flushSoon(): void {
    if (this.#writing || this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush().catch(() => this.#end());
    });
  }

  async #flush(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#outLen > 0 && this.#state !== State.Closed) {
        const chunk = this.#out.subarray(0, this.#outLen);
        this.#inFlight = chunk.length;
        // Frames sent during the write go to a new buffer; an idle socket holds none.
        this.#out = EMPTY;
        this.#outLen = 0;
        let off = 0;
        while (off < chunk.length) {
          const n = await this.conn.write(chunk.subarray(off));
          off += n;
          this.#inFlight = chunk.length - off;
          this.#lastProgress = Date.now();
          this.#written += n;
          if (this.#written >= this.#closeMark && !this.#closeSentAt) {
            this.#closeSentAt = this.#lastProgress;
          }
        }
      }
    } finally {
      this.#writing = false;
      this.#inFlight = 0;
    }
    if (this.#endAfterFlush) this.#end();
  }

  /** Drop the connection and tell the owner, once. */
  #end(): void {
    if (this.#state === State.Closed) return;
    this.#state = State.Closed;
    clearTimeout(this.#closeTimer);
    this.#wake(); // a paused read loop ends
    this.#outLen = 0;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    this.#handlers?.closed();
  }
}
