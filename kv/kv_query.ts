/**
 * @module Query execution over the KV indexes: pick the most selective index for a filter, run
 * one reverse range scan per value, merge them newest first, and re-check every hit.
 */
import { matchFilter, tagConditions } from "../nostr/filter.ts";
import type { Filter, NostrEvent } from "../nostr/types.ts";
import { decodeEntry } from "./entry.ts";
import { hasAuthorKindIndex, idBytes, P, tagValuePart, uninvertId } from "./keys.ts";
import { rememberJson } from "./store.ts";

const decoder = new TextDecoder();

/** Parse stored event JSON, remembering the text so fan-out can send it without re-serialising. */
export function decodeEvent(j: Uint8Array): NostrEvent {
  const json = decoder.decode(j);
  const ev = JSON.parse(json) as NostrEvent;
  rememberJson(ev, json);
  return ev;
}

/** Key prefixes whose union covers every match of the filter, cheapest index first. */
export function planFilter(f: Filter): Deno.KvKey[] {
  const options: Array<{ cost: number; prefixes: () => Deno.KvKey[] }> = [];
  const { authors, kinds } = f;
  if (authors && kinds && kinds.every(hasAuthorKindIndex)) {
    options.push({
      cost: authors.length * kinds.length,
      prefixes: () => authors.flatMap((a) => kinds.map((k) => [P.authorKind, idBytes(a), k])),
    });
  }
  for (const [letter, values] of tagConditions(f)) {
    options.push({
      cost: values.length * 1.5,
      prefixes: () => values.map((v) => [P.tag, letter, tagValuePart(v)]),
    });
  }
  if (authors) {
    options.push({
      cost: authors.length * 4,
      prefixes: () => authors.map((a) => [P.author, idBytes(a)]),
    });
  }
  if (kinds) {
    options.push({
      cost: kinds.length * 64,
      prefixes: () => kinds.map((k) => [P.kind, k]),
    });
  }
  options.push({ cost: 4096, prefixes: () => [[P.created]] });
  options.sort((a, b) => a.cost - b.cost);
  return options[0]!.prefixes();
}

/** Visit matching, unexpired events of one filter, newest first, until `visit` returns false. */
export async function scanFilter(
  kv: Deno.Kv,
  f: Filter,
  now: number,
  batchSize: number,
  visit: (ev: NostrEvent, json: string) => boolean,
): Promise<void> {
  if (f.ids) return scanIds(kv, f, now, visit);
  const since = f.since ?? 0;
  const until = f.until ?? Number.MAX_SAFE_INTEGER - 1;
  if (since > until) return;
  const lists = planFilter(f).map((p) =>
    kv.list<Uint8Array>({ start: [...p, since], end: [...p, until + 1] }, {
      reverse: true,
      batchSize,
    })
  );
  // Returns false to stop the scan.
  const take = async (entry: Deno.KvEntry<Uint8Array>): Promise<boolean> => {
    const v = decodeEntry(entry.value);
    if (v.x && v.x <= now) return true;
    let j = v.j;
    if (!j) {
      const id = uninvertId(entry.key[entry.key.length - 1] as Uint8Array);
      const full = await kv.get<Uint8Array>([P.event, idBytes(id)]);
      if (full.value === null) return true;
      const e = decodeEntry(full.value);
      if (!e.j || (e.x && e.x <= now)) return true;
      j = e.j;
    }
    const json = decoder.decode(j);
    const ev = JSON.parse(json) as NostrEvent;
    return !matchFilter(f, ev) || visit(ev, json);
  };
  if (lists.length === 1) {
    // One index range (the common case): no merge, and no duplicates to skip.
    for await (const entry of lists[0]!) if (!(await take(entry))) return;
    return;
  }
  const iters = lists.map((l) => l[Symbol.asyncIterator]());
  const heads = await Promise.all(iters.map((it) => it.next()));
  let last: Uint8Array | undefined;
  while (true) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!;
      if (h.done) continue;
      if (
        best < 0 ||
        newerKey(h.value.key, (heads[best]! as { value: Deno.KvEntry<Uint8Array> }).value.key)
      ) {
        best = i;
      }
    }
    if (best < 0) return;
    const entry = (heads[best] as IteratorYieldResult<Deno.KvEntry<Uint8Array>>).value;
    heads[best] = await iters[best]!.next();
    // The same event reached through two values of the filter comes out adjacent: skip repeats.
    const nid = entry.key[entry.key.length - 1] as Uint8Array;
    if (last && sameBytes(last, nid)) continue;
    last = nid;
    if (!(await take(entry))) {
      for (const it of iters) it.return?.();
      return;
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when key a sorts after key b on (created_at, inverted id). */
function newerKey(a: Deno.KvKey, b: Deno.KvKey): boolean {
  const ta = a[a.length - 2] as number;
  const tb = b[b.length - 2] as number;
  if (ta !== tb) return ta > tb;
  const na = a[a.length - 1] as Uint8Array;
  const nb = b[b.length - 1] as Uint8Array;
  for (let i = 0; i < na.length; i++) {
    if (na[i] !== nb[i]) return na[i]! > nb[i]!;
  }
  return false;
}

async function scanIds(
  kv: Deno.Kv,
  f: Filter,
  now: number,
  visit: (ev: NostrEvent, json: string) => boolean,
): Promise<void> {
  const ids = [...new Set(f.ids)];
  const found: Array<[NostrEvent, string]> = [];
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += 10) chunks.push(ids.slice(i, i + 10));
  const results = await Promise.all(
    chunks.map((c) => kv.getMany<Uint8Array[]>(c.map((id) => [P.event, idBytes(id)]))),
  );
  for (const r of results) {
    for (const e of r) {
      if (e.value === null) continue;
      const v = decodeEntry(e.value);
      if (!v.j || (v.x && v.x <= now)) continue;
      const json = decoder.decode(v.j);
      const ev = JSON.parse(json) as NostrEvent;
      if (matchFilter(f, ev)) found.push([ev, json]);
    }
  }
  found.sort(([a], [b]) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1));
  for (const [ev, json] of found) if (!visit(ev, json)) return;
}
