/**
 * @module Every Deno KV key Nexus writes. Index keys end with created_at then the inverted id, so
 * a reverse range scan yields newest first and, on equal created_at, the lowest id first (NIP-01).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { isAddressable, isReplaceable } from "../nostr/kinds.ts";
import type { NostrEvent } from "../nostr/types.ts";

/** Key part that identifies an event: 32 raw bytes, half the size of hex. */
export type IdBytes = Uint8Array;

const HEX64 = /^[0-9a-f]{64}$/;
const MAX_INLINE_TAG_VALUE = 200;
const encoder = new TextEncoder();

/** Key prefixes, one byte-short string each to keep keys small. */
export const P = {
  event: "e",
  created: "c",
  kind: "k",
  author: "a",
  authorKind: "ak",
  tag: "t",
  pointer: "r",
  tombstone: "x",
  addrTombstone: "xa",
  feed: "f",
  feedHead: "fh",
  feedBump: "fb",
} as const;

/** Raw id bytes from hex. */
export function idBytes(hex: string): IdBytes {
  return hexToBytes(hex);
}

/** Hex from raw id bytes. */
export function idHex(b: Uint8Array): string {
  return bytesToHex(b);
}

/** The id with every bit flipped, so reverse order puts the lowest id first. */
export function invertId(hex: string): Uint8Array {
  const b = hexToBytes(hex);
  for (let i = 0; i < b.length; i++) b[i] = 255 - b[i]!;
  return b;
}

/** Hex id from an inverted id key part. */
export function uninvertId(b: Uint8Array): string {
  const c = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) c[i] = 255 - b[i]!;
  return bytesToHex(c);
}

/** How a tag value appears in a key: hex ids as bytes, long values as their hash. */
export function tagValuePart(value: string): string | Uint8Array {
  if (HEX64.test(value)) return hexToBytes(value);
  if (
    value.length * 3 > MAX_INLINE_TAG_VALUE && encoder.encode(value).length > MAX_INLINE_TAG_VALUE
  ) {
    // Colliding with a hex value is harmless: every index hit is re-checked against the filter.
    return sha256(encoder.encode(value));
  }
  return value;
}

/** The index prefixes (without created_at and id) an event is listed under. */
export function indexPrefixes(ev: NostrEvent): Deno.KvKey[] {
  const pk = hexToBytes(ev.pubkey);
  const out: Deno.KvKey[] = [[P.created], [P.kind, ev.kind], [P.author, pk]];
  // Author + kind only where it is cheap and decisive: replaceable and addressable kinds (profiles,
  // lists, handler info) are few per author and looked up exactly that way. For regular kinds the
  // key cost a quarter of the commit work (one more insertion point per author and kind in the
  // B-tree), while the author index answers such filters with a short scan.
  if (hasAuthorKindIndex(ev.kind)) out.push([P.authorKind, pk, ev.kind]);
  const seen = new Set<string>();
  for (const t of ev.tags) {
    if (!isIndexedTag(t)) continue;
    const [name, value] = t;
    const dedupe = name + "\u0000" + value;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    out.push([P.tag, name, tagValuePart(value)]);
  }
  return out;
}

/** True for a tag the indexes list: a single-letter name (NIP-01 filters) with a value. */
export function isIndexedTag(t: string[]): t is [string, string, ...string[]] {
  const name = t[0];
  if (name === undefined || t[1] === undefined || name.length !== 1) return false;
  const c = name.charCodeAt(0);
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** True for kinds indexed by author and kind together (see indexPrefixes). */
export function hasAuthorKindIndex(kind: number): boolean {
  return isReplaceable(kind) || isAddressable(kind);
}

/** The full index keys of an event. */
export function indexKeys(ev: NostrEvent): Deno.KvKey[] {
  const nid = invertId(ev.id);
  return indexPrefixes(ev).map((p) => [...p, ev.created_at, nid]);
}

/**
 * Index keys earlier versions wrote and this one no longer does: author+kind for regular kinds.
 * Deleting an event removes them too, so stores written before the change stay clean.
 */
export function legacyIndexKeys(ev: NostrEvent): Deno.KvKey[] {
  if (hasAuthorKindIndex(ev.kind)) return [];
  return [[P.authorKind, hexToBytes(ev.pubkey), ev.kind, ev.created_at, invertId(ev.id)]];
}

/** The key of the current-version pointer of a replaceable or addressable address. */
export function pointerKey(addr: string): Deno.KvKey {
  const [kind, pubkey, d] = splitAddress(addr);
  return [P.pointer, kind, hexToBytes(pubkey), d];
}

/** The key recording that an address was deleted up to a created_at. */
export function addrTombstoneKey(addr: string): Deno.KvKey {
  const [kind, pubkey, d] = splitAddress(addr);
  return [P.addrTombstone, kind, hexToBytes(pubkey), d];
}

function splitAddress(addr: string): [number, string, string] {
  const i = addr.indexOf(":");
  const j = addr.indexOf(":", i + 1);
  return [Number(addr.slice(0, i)), addr.slice(i + 1, j), addr.slice(j + 1)];
}

/** Byte length of a key, close enough to what KV counts against its per-atomic budget. */
export function keySize(key: Deno.KvKey): number {
  let n = 0;
  for (const part of key) {
    // KV's key encoding escapes every zero byte as two bytes, so they count twice.
    if (part instanceof Uint8Array) n += part.length + zeros(part) + 2;
    // Exact UTF-8 length: assuming 3 bytes per character refused events with long ASCII tag
    // values and, worse, made their replacements impossible to commit.
    else if (typeof part === "string") {
      const b = encoder.encode(part);
      n += b.length + zeros(b) + 2;
    } else n += 9;
  }
  return n;
}

function zeros(b: Uint8Array): number {
  let z = 0;
  for (let i = 0; i < b.length; i++) if (b[i] === 0) z++;
  return z;
}
