/** @module Event id and BIP-340 signature verification with nostr-wasm (about 1.5x noble). */
import { initNostrWasm } from "nostr-wasm";
import type { NostrEvent } from "./types.ts";

const wasm = await initNostrWasm();

/** True when the event's id is the hash of its content and its signature is valid. */
export function verifyEvent(ev: NostrEvent): boolean {
  try {
    // nostr-wasm recomputes the id from the fields, then checks the signature over it.
    wasm.verifyEvent(ev);
    return true;
  } catch {
    return false;
  }
}
