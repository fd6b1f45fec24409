/** @module Structural validation of events (NIP-01 field types and sizes). */
import type { NostrEvent } from "./types.ts";

const HEX64 = /^[0-9a-f]{64}$/;

/** True for 64 lowercase hex characters: an event id or a pubkey as NIP-01 writes them. */
export function isHex64(v: unknown): v is string {
  return typeof v === "string" && HEX64.test(v);
}

const HEX128 = /^[0-9a-f]{128}$/;

/** Size limits applied to an event's fields. */
export interface EventLimits {
  maxEventTags: number;
  maxContentLength: number;
}

/** Check an untrusted value is a well-formed event; returns it or an `invalid:` reason. */
export function parseEvent(raw: unknown, limits: EventLimits): NostrEvent | string {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return "invalid: event must be a JSON object";
  }
  const e = raw as Record<string, unknown>;
  if (typeof e.id !== "string" || !HEX64.test(e.id)) return "invalid: id must be 64 lowercase hex";
  if (typeof e.pubkey !== "string" || !HEX64.test(e.pubkey)) {
    return "invalid: pubkey must be 64 lowercase hex";
  }
  if (typeof e.sig !== "string" || !HEX128.test(e.sig)) {
    return "invalid: sig must be 128 lowercase hex";
  }
  if (typeof e.kind !== "number" || !Number.isInteger(e.kind) || e.kind < 0 || e.kind > 65535) {
    return "invalid: kind must be an integer from 0 to 65535";
  }
  if (typeof e.created_at !== "number" || !Number.isInteger(e.created_at) || e.created_at < 0) {
    return "invalid: created_at must be a non-negative integer";
  }
  // Past 2^53 a JSON number no longer names one second: its id could not be checked exactly.
  if (!Number.isSafeInteger(e.created_at)) return "invalid: created_at is too large";
  if (typeof e.content !== "string") return "invalid: content must be a string";
  // NIP-11: max_content_length "is a count of unicode characters", i.e. code points, not the
  // UTF-16 units of `length` (an emoji is two). Count code points only when units exceed the cap.
  if (
    e.content.length > limits.maxContentLength &&
    codePoints(e.content, limits.maxContentLength) > limits.maxContentLength
  ) {
    return `invalid: content is longer than ${limits.maxContentLength} characters`;
  }
  if (!Array.isArray(e.tags)) return "invalid: tags must be an array";
  if (e.tags.length > limits.maxEventTags) {
    return `invalid: more than ${limits.maxEventTags} tags`;
  }
  for (const t of e.tags) {
    if (!Array.isArray(t) || t.length === 0) return "invalid: each tag must be a non-empty array";
    for (const v of t) {
      if (typeof v !== "string") return "invalid: tag elements must be strings";
    }
  }
  // `+ 0` turns -0 (valid JSON) into 0: KV keys tell them apart, the stored JSON does not, and a
  // deletion computes its keys from the JSON.
  return {
    id: e.id,
    pubkey: e.pubkey,
    created_at: e.created_at + 0,
    kind: e.kind + 0,
    tags: e.tags as string[][],
    content: e.content,
    sig: e.sig,
  };
}

/** Code points in `s`, counting stops once past `cap` (enough to compare with it). */
export function codePoints(s: string, cap: number): number {
  let n = 0;
  for (let i = 0; i < s.length && n <= cap; i++, n++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
  }
  return n;
}
