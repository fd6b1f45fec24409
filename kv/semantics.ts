/**
 * @module What storing one event does (NIP-01 replaceable kinds, NIP-09 deletions), written once
 * against an abstract state so the Deno KV and in-memory stores cannot drift apart.
 */
import { isHex64 } from "../nostr/event.ts";
import { addressOf, isAddressable, isReplaceable } from "../nostr/kinds.ts";
import type { NostrEvent, Verdict } from "../nostr/types.ts";

/** A stored event with its expiry (unix seconds, 0 for none). */
export interface Stored {
  event: NostrEvent;
  expiresAt: number;
}

/** The current version of a replaceable or addressable address. */
export interface Pointer {
  id: string;
  created_at: number;
}

/** Read side of the state a write consults; everything it needs is known up front. */
export interface WriteState {
  event(id: string): Stored | undefined;
  /** True when `pubkey` asked (NIP-09) to delete event `id`. */
  tombstone(id: string, pubkey: string): boolean;
  pointer(addr: string): Pointer | undefined;
  addressTombstone(addr: string): number | undefined;
}

/** Write side: the mutations a write produces, applied atomically by the store. */
export interface WriteOps {
  put(s: Stored): void;
  delete(s: Stored): void;
  setPointer(addr: string, p: Pointer, expiresAt: number): void;
  deletePointer(addr: string): void;
  setTombstone(id: string, pubkey: string): void;
  setAddressTombstone(addr: string, until: number): void;
}

/** The keys a write of `ev` will read, so a store can fetch them in one round. */
export function readSet(ev: NostrEvent): { ids: string[]; addrs: string[] } {
  const ids = [ev.id];
  const addrs: string[] = [];
  const addr = addressOf(ev);
  if (addr) addrs.push(addr);
  if (ev.kind === 5) {
    for (const t of ev.tags) {
      if (t[0] === "e" && isHex64(t[1])) ids.push(t[1]);
      if (t[0] === "a" && t[1]) {
        const a = ownAddress(t[1], ev.pubkey);
        if (a) addrs.push(a);
      }
    }
  }
  return { ids, addrs };
}

/** Apply one event to the state; returns the OK verdict and whether it was stored. */
export function applyEvent(
  s: WriteState,
  ops: WriteOps,
  ev: NostrEvent,
  expiresAt: number,
): { verdict: Verdict; stored: boolean } {
  // NIP-09: a deletion request against a deletion request has no effect, even one sent first.
  if (ev.kind !== 5 && s.tombstone(ev.id, ev.pubkey)) {
    return refuse("blocked: this event was deleted by its author");
  }
  if (s.event(ev.id)) {
    return { verdict: [true, "duplicate: already have this event"], stored: false };
  }

  const addr = addressOf(ev);
  if (addr) {
    const deletedUntil = s.addressTombstone(addr);
    if (deletedUntil !== undefined && ev.created_at <= deletedUntil) {
      return refuse("blocked: this address was deleted by its author");
    }
    const cur = s.pointer(addr);
    if (cur && !newer(ev, cur)) {
      return refuse(
        cur.created_at === ev.created_at
          ? "invalid: a version with the same created_at and a lower id is already stored"
          : "invalid: a newer version of this event is already stored",
      );
    }
    if (cur) {
      const old = s.event(cur.id);
      if (old) ops.delete(old);
    }
    ops.setPointer(addr, { id: ev.id, created_at: ev.created_at }, expiresAt);
  }

  if (ev.kind === 5) deleteTargets(s, ops, ev);
  ops.put({ event: ev, expiresAt });
  return { verdict: [true, ""], stored: true };
}

/** Apply a NIP-09 deletion's targets (own events only) without storing the deletion itself. */
export function deleteTargets(s: WriteState, ops: WriteOps, del: NostrEvent): void {
  for (const t of del.tags) {
    // A value that is no event id names nothing (and has no key to look up).
    if (t[0] === "e" && isHex64(t[1])) {
      const target = s.event(t[1]);
      if (target && (target.event.pubkey !== del.pubkey || target.event.kind === 5)) continue;
      if (target) {
        // Ask whether it is current before deleting it: afterwards the pointer reads as dangling.
        const addr = addressOf(target.event);
        const current = addr !== undefined && s.pointer(addr)?.id === target.event.id;
        ops.delete(target);
        if (current) ops.deletePointer(addr);
      }
      ops.setTombstone(t[1], del.pubkey);
    } else if (t[0] === "a" && t[1]) {
      const addr = ownAddress(t[1], del.pubkey);
      if (!addr) continue;
      const prev = s.addressTombstone(addr) ?? -1;
      if (del.created_at > prev) ops.setAddressTombstone(addr, del.created_at);
      const cur = s.pointer(addr);
      if (cur && cur.created_at <= del.created_at) {
        const old = s.event(cur.id);
        if (old) ops.delete(old);
        ops.deletePointer(addr);
      }
    }
  }
}

/** Normalise an `a` tag value; only the deleter's own replaceable addresses count. */
function ownAddress(value: string, pubkey: string): string | undefined {
  const m = /^(\d{1,5}):([0-9a-f]{64}):(.*)$/s.exec(value);
  if (!m || m[2] !== pubkey) return undefined;
  const kind = Number(m[1]);
  if (isReplaceable(kind)) return `${kind}:${pubkey}:`;
  if (isAddressable(kind)) return `${kind}:${pubkey}:${m[3]}`;
  return undefined;
}

/** NIP-01: the newer created_at wins; on a tie the lowest id is kept. */
function newer(ev: NostrEvent, cur: Pointer): boolean {
  return ev.created_at > cur.created_at || (ev.created_at === cur.created_at && ev.id < cur.id);
}

function refuse(message: string): { verdict: Verdict; stored: boolean } {
  return { verdict: [false, message], stored: false };
}
