/**
 * @module Query execution over the KV indexes: pick the most selective index for a filter, run
 * one reverse range scan per value, merge them newest first, and re-check every hit.
 */
import { matchFilter, tagConditions } from "../nostr/filter.ts";
import type { Filter, NostrEvent } from "../nostr/types.ts";
import { decodeEntry, type Entry } from "./entry.ts";
import { hasAuthorKindIndex, idBytes, invertId, P, tagValuePart, uninvertId } from "./keys.ts";
import { rememberJson } from "./store.ts";

const decoder = new TextDecoder();
/** Index entries resolved together in a scan (at most 64 events of 64 KB held at once). */
const CHUNK = 64;

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
  const iters = lists.map((l) => l[Symbol.asyncIterator]());
  // Entries are taken a slice at a time, so the events too large to copy into index entries are
  // read together (ten to a getMany, the calls in parallel) rather than one after another; the
  // slice is small enough that a scan never holds more than a few MB of them.
  const slice = Math.min(batchSize, CHUNK);
  try {
    const next = iters.length === 1 ? oneList(iters[0]!) : await merged(iters);
    while (true) {
      const chunk: Deno.KvEntry<Uint8Array>[] = [];
      while (chunk.length < slice) {
        const entry = await next();
        if (!entry) break;
        chunk.push(entry);
      }
      for (const j of await entriesJson(kv, chunk, now)) {
        if (!j) continue;
        const json = decoder.decode(j);
        const ev = JSON.parse(json) as NostrEvent;
        if (matchFilter(f, ev) && !visit(ev, json)) return;
      }
      if (chunk.length < slice) return;
    }
  } finally {
    // Early or on an error: let KV drop the rest of each list.
    for (const it of iters) it.return?.();
  }
}

type NextEntry = () => Promise<Deno.KvEntry<Uint8Array> | undefined>;

function oneList(it: AsyncIterator<Deno.KvEntry<Uint8Array>>): NextEntry {
  return async () => {
    const r = await it.next();
    return r.done ? undefined : r.value;
  };
}

/** Several lists merged newest first; an event reached through two of them comes out once. */
async function merged(iters: AsyncIterator<Deno.KvEntry<Uint8Array>>[]): Promise<NextEntry> {
  type Head = { entry: Deno.KvEntry<Uint8Array>; it: AsyncIterator<Deno.KvEntry<Uint8Array>> };
  // A binary heap of the lists' next entries, newest on top: a filter may name 1000 values, and
  // picking the newest head by a scan would cost 1000 comparisons an entry.
  const heap: Head[] = [];
  const above = (a: Head, b: Head) => newerKey(a.entry.key, b.entry.key);
  const push = (h: Head) => {
    let i = heap.push(h) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!above(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const pop = (): Head | undefined => {
    const top = heap[0];
    const end = heap.pop();
    if (heap.length > 0 && end) {
      heap[0] = end;
      for (let i = 0;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && above(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && above(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  const firsts = await Promise.all(iters.map((it) => it.next()));
  firsts.forEach((r, i) => r.done || push({ entry: r.value, it: iters[i]! }));
  let last: Uint8Array | undefined;
  return async () => {
    while (true) {
      const top = pop();
      if (!top) return undefined;
      const next = await top.it.next();
      if (!next.done) push({ entry: next.value, it: top.it });
      const entry = top.entry;
      // The same event reached through two values of the filter comes out adjacent: skip repeats.
      const nid = entry.key[entry.key.length - 1] as Uint8Array;
      if (last && sameBytes(last, nid)) continue;
      last = nid;
      return entry;
    }
  };
}

/**
 * The JSON of the unexpired events behind index entries, in their order (undefined where none):
 * from the entry itself, else (an event too large to copy into its index entries) from its id
 * entry, all such reads of a batch together.
 */
async function entriesJson(
  kv: Deno.Kv,
  entries: Deno.KvEntry<Uint8Array>[],
  now: number,
): Promise<(Uint8Array | undefined)[]> {
  const out: (Uint8Array | undefined)[] = [];
  const large: number[] = [];
  entries.forEach((entry, i) => {
    const v = decodeEntry(entry.value);
    out.push(v.x && v.x <= now ? undefined : v.j);
    if (!v.j && !(v.x && v.x <= now)) large.push(i);
  });
  if (large.length === 0) return out;
  const ids = large.map((i) => uninvertId(entries[i]!.key.at(-1) as Uint8Array));
  (await readEvents(kv, ids)).forEach((e, k) => {
    // Absent: deleted since the list was read.
    if (e?.j && !(e.x && e.x <= now)) out[large[k]!] = e.j;
  });
  return out;
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
  for (const v of await readEvents(kv, ids)) {
    if (!v?.j || (v.x && v.x <= now)) continue;
    const json = decoder.decode(v.j);
    const ev = JSON.parse(json) as NostrEvent;
    if (matchFilter(f, ev)) found.push([ev, json]);
  }
  found.sort(([a], [b]) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1));
  for (const [ev, json] of found) if (!visit(ev, json)) return;
}

/** Read events by id (10 keys a `getMany`, the calls in parallel); undefined where none is stored. */
export async function readEvents(kv: Deno.Kv, ids: string[]): Promise<(Entry | undefined)[]> {
  const keys = ids.map((id) => [P.event, idBytes(id)]);
  const values = (await getManyAll<Uint8Array>(kv, keys)).map((e) => e.value);
  return await withJson(kv, ids, values);
}

/**
 * Decode id entries (`["e", id]` values, null where absent), fetching the JSON from the created
 * index entry for those that keep it there (see `encodeInCreated`).
 */
export async function withJson(
  kv: Deno.Kv,
  ids: string[],
  values: (Uint8Array | null)[],
): Promise<(Entry | undefined)[]> {
  const out = values.map((v) => (v === null ? undefined : decodeEntry(v)));
  const moved: number[] = [];
  out.forEach((e, i) => {
    if (e?.c !== undefined) moved.push(i);
  });
  if (moved.length === 0) return out;
  const keys = moved.map((i) => [P.created, out[i]!.c!, invertId(ids[i]!)]);
  const got = await getManyAll<Uint8Array>(kv, keys);
  moved.forEach((i, k) => {
    const v = got[k]!.value;
    // Both keys are written and deleted in one atomic; a missing copy means no event.
    out[i] = v === null ? undefined : { x: out[i]!.x, j: decodeEntry(v).j };
  });
  return out;
}

/** `getMany` over any number of keys: 10 a call (its limit), the calls in parallel. */
export async function getManyAll<T>(
  kv: Deno.Kv,
  keys: Deno.KvKey[],
): Promise<Deno.KvEntryMaybe<T>[]> {
  const calls: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
  for (let i = 0; i < keys.length; i += 10) calls.push(kv.getMany<T[]>(keys.slice(i, i + 10)));
  return (await Promise.all(calls)).flat();
}
