/**
 * @module RFC 6455 framing: a reader for the masked frames clients send, reassembling fragmented
 * messages, and an encoder for the unmasked frames a server sends. No extensions are negotiated.
 */

/** Frame opcodes (RFC 6455 section 5.2). */
export const Op = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close codes the reader fails with. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  invalidData: 1007,
  policy: 1008,
  tooBig: 1009,
} as const;

/** A violation of the protocol by the client: the close code to answer with, and why. */
export class FrameError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** A complete message or control frame from the client. */
export type Incoming =
  | { type: "text"; data: string }
  | { type: "binary"; data: Uint8Array }
  | { type: "ping"; data: Uint8Array }
  | { type: "pong"; data: Uint8Array }
  | { type: "close"; code: number | undefined; reason: string };

// A BOM is part of the message: a WebSocket does not strip it.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decode UTF-8 or fail with 1007, as RFC 6455 section 8.1 requires of text. */
function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new FrameError(CloseCode.invalidData, "text is not valid UTF-8");
  }
}

/** Close codes a peer may send (RFC 6455 section 7.4). */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

/** A frame being read: `payload` holds its first `got` of `len` bytes. */
interface Frame {
  fin: boolean;
  op: number;
  mask: Uint8Array;
  len: number;
  payload: Uint8Array;
  got: number;
}

/**
 * Frames up to this size (every message the relay accepts) get their whole buffer at once; larger
 * ones grow as bytes arrive, so a header announcing a megabyte costs nothing until it is sent.
 */
const INITIAL_PAYLOAD_BYTES = 64 * 1024;
/** Frames up to this size that arrive whole in one read are unmasked here, one buffer for all. */
const SCRATCH_BYTES = 64 * 1024;
const scratch = new Uint8Array(SCRATCH_BYTES);
const EMPTY = new Uint8Array(0);

/** Reads client frames from a byte stream, chunk by chunk. */
export class FrameReader {
  /** Bytes of a frame header not yet complete (at most 14). */
  #head = new Uint8Array(14);
  #headLen = 0;
  /** The frame whose payload is being read. */
  #frame: Frame | null = null;
  /** A fragmented data message in progress. */
  /** Its fragments so far, in one buffer (an array of them would let 1-byte fragments cost ~100x). */
  #parts = new Uint8Array(0);
  #partsOp = 0;
  #partsLen = 0;

  /** `maxMessage`: the most bytes a message (all its fragments together) may hold. */
  constructor(readonly maxMessage: number) {}

  /** The violation that stopped the reader; nothing more is read after it. */
  failed: FrameError | undefined;

  /**
   * Take in bytes; returns the messages they complete. On a violation, returns what came before
   * it and sets `failed`.
   */
  push(chunk: Uint8Array): Incoming[] {
    const out: Incoming[] = [];
    if (this.failed) return out;
    try {
      this.#push(chunk, out);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.failed = err;
    }
    return out;
  }

  #push(chunk: Uint8Array, out: Incoming[]): void {
    let at = 0;
    while (at < chunk.length) {
      if (!this.#frame) {
        at = this.#readHead(chunk, at);
        if (!this.#frame) break;
      }
      const f: Frame = this.#frame;
      if (f.got === 0 && f.len <= SCRATCH_BYTES && chunk.length - at >= f.len) {
        // The whole payload is in this chunk: unmask it into the shared scratch buffer rather
        // than a buffer of its own. Text is decoded at once, so most frames allocate nothing
        // outside V8's heap (external buffers are collected late: a flood of them grew RSS).
        const p = scratch.subarray(0, f.len);
        const m = f.mask;
        for (let i = 0; i < p.length; i++) p[i] = chunk[at + i]! ^ m[i & 3]!;
        at += f.len;
        this.#complete(out, p, true);
        continue;
      }
      const take = Math.min(f.len - f.got, chunk.length - at);
      if (f.got + take > f.payload.length) {
        // Grown as bytes arrive, not sized from the header: a header alone costs no memory.
        const grown = new Uint8Array(
          Math.min(f.len, Math.max(f.got + take, 2 * f.payload.length, INITIAL_PAYLOAD_BYTES)),
        );
        grown.set(f.payload.subarray(0, f.got));
        f.payload = grown;
      }
      f.payload.set(chunk.subarray(at, at + take), f.got);
      f.got += take;
      at += take;
      if (f.got === f.len) {
        const p = f.payload;
        const m = f.mask;
        for (let i = 0; i < p.length; i++) p[i]! ^= m[i & 3]!;
        this.#complete(out, p, false);
      }
    }
  }

  /** Read header bytes from `chunk` at `at`; sets #frame once the header is whole. */
  #readHead(chunk: Uint8Array, at: number): number {
    while (at < chunk.length) {
      this.#head[this.#headLen++] = chunk[at++]!;
      // Known from the second byte: do not wait for a mask that an unmasked frame lacks.
      if (this.#headLen === 2 && (this.#head[1]! & 0x80) === 0) {
        throw new FrameError(CloseCode.protocolError, "client frames must be masked");
      }
      const need = this.#headSize();
      if (need !== undefined && this.#headLen === need) {
        this.#startFrame();
        return at;
      }
    }
    return at;
  }

  /** The header's full size once its first two bytes are known. */
  #headSize(): number | undefined {
    if (this.#headLen < 2) return undefined;
    const len7 = this.#head[1]! & 0x7f;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + 4;
  }

  /** Check a whole header and set up its frame. */
  #startFrame(): void {
    const h = this.#head;
    const fin = (h[0]! & 0x80) !== 0;
    const op = h[0]! & 0x0f;
    if ((h[0]! & 0x70) !== 0) throw new FrameError(CloseCode.protocolError, "reserved bits set");
    const len7 = h[1]! & 0x7f;
    let len: number;
    let maskAt: number;
    if (len7 === 126) {
      len = (h[2]! << 8) | h[3]!;
      maskAt = 4;
    } else if (len7 === 127) {
      // Lengths past 2^32 are far past any message size we accept.
      if (h[2]! | h[3]! | h[4]! | h[5]!) throw new FrameError(CloseCode.tooBig, "frame too large");
      len = ((h[6]! << 24) >>> 0) + (h[7]! << 16) + (h[8]! << 8) + h[9]!;
      maskAt = 10;
    } else {
      len = len7;
      maskAt = 2;
    }
    if (op >= 0x8) {
      if (op > Op.pong) throw new FrameError(CloseCode.protocolError, `unknown opcode ${op}`);
      if (!fin) throw new FrameError(CloseCode.protocolError, "fragmented control frame");
      if (len > 125) throw new FrameError(CloseCode.protocolError, "control frame too long");
    } else if (op === Op.continuation) {
      if (this.#partsOp === 0) {
        throw new FrameError(CloseCode.protocolError, "continuation without a message");
      }
    } else if (op === Op.text || op === Op.binary) {
      if (this.#partsOp !== 0) {
        throw new FrameError(CloseCode.protocolError, "new message inside a fragmented one");
      }
    } else {
      throw new FrameError(CloseCode.protocolError, `unknown opcode ${op}`);
    }
    if (op < 0x8 && this.#partsLen + len > this.maxMessage) {
      throw new FrameError(CloseCode.tooBig, `message larger than ${this.maxMessage} bytes`);
    }
    this.#frame = {
      fin,
      op,
      mask: h.slice(maskAt, maskAt + 4),
      len,
      payload: EMPTY,
      got: 0,
    };
    this.#headLen = 0;
  }

  /**
   * A frame's payload `p` is whole and unmasked: emit what it completes. A `borrowed` payload is
   * the shared scratch buffer, so whatever outlives this call is copied.
   */
  #complete(out: Incoming[], p: Uint8Array, borrowed: boolean): void {
    const f = this.#frame!;
    this.#frame = null;
    if (f.op >= 0x8) return void out.push(this.#control(f.op, borrowed ? p.slice() : p));
    if (f.op !== Op.continuation) this.#partsOp = f.op;
    if (f.fin && f.op !== Op.continuation) {
      // The common case, one frame a message: no copy.
      const op = this.#partsOp;
      this.#partsOp = 0;
      return void out.push(
        op === Op.text
          ? { type: "text", data: decodeText(p) }
          : { type: "binary", data: borrowed ? p.slice() : p },
      );
    }
    const need = this.#partsLen + p.length;
    if (need > this.#parts.length) {
      const grown = new Uint8Array(
        Math.min(this.maxMessage, Math.max(need, 2 * this.#parts.length)),
      );
      grown.set(this.#parts.subarray(0, this.#partsLen));
      this.#parts = grown;
    }
    this.#parts.set(p, this.#partsLen);
    this.#partsLen = need;
    if (!f.fin) return;
    const whole = this.#parts.subarray(0, this.#partsLen);
    const op = this.#partsOp;
    this.#parts = new Uint8Array(0);
    this.#partsLen = 0;
    this.#partsOp = 0;
    out.push(
      op === Op.text ? { type: "text", data: decodeText(whole) } : { type: "binary", data: whole },
    );
  }

  /** A control frame's meaning. */
  #control(op: number, p: Uint8Array): Incoming {
    if (op === Op.ping) return { type: "ping", data: p };
    if (op === Op.pong) return { type: "pong", data: p };
    if (p.length === 0) return { type: "close", code: undefined, reason: "" };
    if (p.length === 1) throw new FrameError(CloseCode.protocolError, "close code cut short");
    const code = (p[0]! << 8) | p[1]!;
    if (!validCloseCode(code)) throw new FrameError(CloseCode.protocolError, `close code ${code}`);
    return { type: "close", code, reason: decodeText(p.subarray(2)) };
  }
}

/** The header of an unmasked server frame (FIN set) for a payload of `len` bytes. */
export function frameHeader(op: number, len: number): Uint8Array {
  if (len < 126) return Uint8Array.of(0x80 | op, len);
  if (len < 65536) return Uint8Array.of(0x80 | op, 126, len >> 8, len & 0xff);
  const h = new Uint8Array(10);
  h[0] = 0x80 | op;
  h[1] = 127;
  // Payloads stay far below 2^32 bytes: the high word is zero.
  new DataView(h.buffer).setUint32(6, len);
  return h;
}

/** A close frame's payload: the code, then the reason cut to fit a control frame. */
export function closePayload(code: number, reason = ""): Uint8Array {
  let text = new TextEncoder().encode(reason);
  if (text.length > 123) {
    // Cut at a character boundary: a reason must stay valid UTF-8.
    let end = 123;
    while (end > 0 && (text[end]! & 0xc0) === 0x80) end--;
    text = text.subarray(0, end);
  }
  const p = new Uint8Array(2 + text.length);
  p[0] = code >> 8;
  p[1] = code & 0xff;
  p.set(text, 2);
  return p;
}
