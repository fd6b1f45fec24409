/**
 * @module A verification thread (see verifier.ts): checks each batch of events it is sent and
 * answers with one byte per event, 1 for a good id and signature.
 */
import { verifyEvent } from "./verify.ts";
import type { NostrEvent } from "./types.ts";

/** A batch to check, numbered by the sender. */
export interface VerifyRequest {
  n: number;
  events: NostrEvent[];
}

/** The answer to a batch: `ok[i]` is 1 when `events[i]` verified. */
export interface VerifyReply {
  n: number;
  ok: Uint8Array;
}

// Typed by hand: this file is also type-checked with the window's globals, where self is a Window.
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<VerifyRequest>) => void) | null;
  postMessage(message: VerifyReply | "ready"): void;
};

scope.onmessage = (e) => {
  const { n, events } = e.data;
  const ok = new Uint8Array(events.length);
  for (let i = 0; i < events.length; i++) ok[i] = verifyEvent(events[i]!) ? 1 : 0;
  scope.postMessage({ n, ok });
};
// Messages that arrive before a worker's module has run (here, before nostr-wasm is compiled)
// find no handler: the sender waits for this word.
scope.postMessage("ready");
