/**
 * Differential test of the KV query planner and scanner: thousands of random events and hundreds
 * of random filters, every KvStore answer compared, in exact order, with a naive matcher written
 * here from the NIP-01 text (deliberately not MemoryStore, which shares code with the KV store).
 */
import { assert, assertEquals } from "@std/assert";
import type { Filter, NostrEvent } from "../nostr/types.ts";
import { KvStore } from "./kv_store.ts";
import { prng } from "../tests/prng.ts";

const SEED = Number(Deno.env.get("NEXUS_FUZZ_SEED") ?? 20240611);
const EVENTS = 3000;
const QUERIES = 400;

let rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const some = <T>(xs: readonly T[], max: number): T[] => {
  const n = 1 + int(max);
  return Array.from({ length: n }, () => pick(xs));
};
const hex = () => Array.from({ length: 64 }, () => "0123456789abcdef"[int(16)]).join("");

const AUTHORS = Array.from({ length: 5 }, hex);
const REFS = Array.from({ length: 6 }, hex);
const KINDS = [0, 1, 1, 1, 3, 7, 1111, 10000, 10002, 20001, 30000, 30023, 40000];
const LETTERS = ["t", "T", "e", "p", "d", "Z", "z", "a"];
const LONG = "L".repeat(300); // longer than an inline key part: stored hashed
const VALUES = ["x", "y", "X", "", "Z", "émoji 🙂", LONG, ...REFS];
const BASE = 1_700_000_000;

function randomEvent(): NostrEvent {
  const kind = pick(KINDS);
  const tags: string[][] = [];
  for (let i = int(5); i > 0; i--) {
    const letter = pick(LETTERS);
    tags.push(rand() < 0.1 ? [letter] : [letter, pick(VALUES), ...(rand() < 0.2 ? ["extra"] : [])]);
  }
  if (rand() < 0.1) tags.push(["long-name", "x"]);
  return {
    id: hex(),
    pubkey: pick(AUTHORS),
    created_at: BASE + int(40), // few distinct seconds: many ties
    kind,
    tags,
    content: rand() < 0.05 ? "c".repeat(2000) : "",
    sig: "0".repeat(128),
  };
}

function randomFilter(stored: NostrEvent[]): Filter {
  const f: Filter = {};
  if (rand() < 0.12) f.ids = some([...stored.map((e) => e.id), hex()], 6).map((i) => i);
  if (rand() < 0.35) f.authors = some(AUTHORS, 3);
  if (rand() < 0.4) f.kinds = some(KINDS, 3);
  for (let n = int(3); n > 0 && rand() < 0.6; n--) f[`#${pick(LETTERS)}`] = some(VALUES, 3);
  if (rand() < 0.3) f.since = BASE + int(45) - 2;
  if (rand() < 0.3) f.until = BASE + int(45) - 2;
  if (rand() < 0.6) f.limit = pick([0, 1, 2, 3, 5, 10, 50, 500]);
  if (f.ids && rand() < 0.5) f.ids = [pick(stored).id];
  return f;
}

// --- The naive model, from the NIP-01 text. ---

function addressKey(ev: NostrEvent): string | undefined {
  const k = ev.kind;
  if (k === 0 || k === 3 || (k >= 10000 && k < 20000)) return `${k}:${ev.pubkey}`;
  if (k >= 30000 && k < 40000) {
    const d = ev.tags.find((t) => t[0] === "d");
    return `${k}:${ev.pubkey}:${d?.[1] ?? ""}`;
  }
  return undefined;
}

const order = (a: NostrEvent, b: NostrEvent) =>
  b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** What a correct relay keeps: no ephemeral, newest per address (ties: lowest id). */
function expectedStore(all: NostrEvent[]): NostrEvent[] {
  const byAddr = new Map<string, NostrEvent>();
  const out: NostrEvent[] = [];
  for (const ev of all) {
    if (ev.kind >= 20000 && ev.kind < 30000) continue;
    const a = addressKey(ev);
    if (!a) out.push(ev);
    else {
      const cur = byAddr.get(a);
      if (!cur || order(ev, cur) < 0) byAddr.set(a, ev);
    }
  }
  return [...out, ...byAddr.values()].sort(order);
}

function naiveMatch(f: Filter, ev: NostrEvent): boolean {
  if (f.ids && !f.ids.some((i) => i === ev.id)) return false;
  if (f.authors && !f.authors.some((a) => a === ev.pubkey)) return false;
  if (f.kinds && !f.kinds.some((k) => k === ev.kind)) return false;
  if (f.since !== undefined && !(ev.created_at >= f.since)) return false;
  if (f.until !== undefined && !(ev.created_at <= f.until)) return false;
  for (const [key, values] of Object.entries(f)) {
    if (!key.startsWith("#")) continue;
    const letter = key.slice(1);
    const ok = ev.tags.some((t) => t.length >= 2 && t[0] === letter && values.includes(t[1]));
    if (!ok) return false;
  }
  return true;
}

function naiveQuery(store: NostrEvent[], filters: Filter[]): NostrEvent[] {
  const hit = new Set<NostrEvent>();
  for (const f of filters) {
    const matches = store.filter((ev) => naiveMatch(f, ev)); // store is already in NIP-01 order
    for (const ev of matches.slice(0, f.limit ?? Infinity)) hit.add(ev);
  }
  return [...hit].sort(order);
}

// Answered by KV scans, by a window holding every event, and by one holding the newest 500 (the
// rest left to KV). The windows load from the file another handle wrote, as a new isolate would.
for (const hotEvents of [0, 100_000, 500]) {
  Deno.test(`KvStore${hotEvents ? ` (hot ${hotEvents})` : ""} answers like a naive matcher on random events and filters (seed ${SEED})`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "nexus-differential-" });
    const writer = new KvStore(await Deno.openKv(`${dir}/kv.sqlite`));
    let reader: KvStore | undefined;
    try {
      await differential(writer, async () => {
        if (!hotEvents) return writer;
        reader = new KvStore(await Deno.openKv(`${dir}/kv.sqlite`), { hotEvents });
        await reader.hot!.start();
        // A window smaller than the store also learns the keys below it (in the background).
        for (let i = 0; i < 400 && hotEvents < EVENTS && !reader.hot!.belowKnown; i++) {
          await new Promise((r) => setTimeout(r, 5));
        }
        return reader;
      });
      if (reader) {
        assert(reader.hot!.hits > QUERIES / 3, `${reader.hot!.hits} answers from memory`);
        // A COUNT has no limit: a window of part of the store answers only those above its bound.
        const bar = hotEvents >= EVENTS ? QUERIES / 3 : 10;
        assert(reader.hot!.countHits > bar, `${reader.hot!.countHits} counts from memory`);
        if (hotEvents < EVENTS) {
          assert(
            reader.hot!.answeredByBelow > 20,
            `${reader.hot!.answeredByBelow} by the keys below`,
          );
        }
      }
    } finally {
      await reader?.close();
      await writer.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

async function differential(store: KvStore, open: () => Promise<KvStore>): Promise<void> {
  // The same sequence of random numbers for every variant.
  rand = prng(SEED);
  const all = Array.from({ length: EVENTS }, randomEvent);
  // Re-send some events: duplicates must change nothing.
  const sends = [...all, ...Array.from({ length: 100 }, () => pick(all))];
  for (let i = 0; i < sends.length; i += 64) {
    // Concurrent sends share group commits, including rival versions of one address.
    await Promise.all(sends.slice(i, i + 64).map((ev) => store.event(ev)));
  }
  const reader = await open();
  const kept = expectedStore(all);
  const ids = (evs: NostrEvent[]) => evs.map((e) => e.id);
  assertEquals(ids(await reader.query([{}])), ids(kept), "everything stored");
  assertEquals(await reader.count([{}]), kept.length);

  let nonEmpty = 0;
  for (let q = 0; q < QUERIES; q++) {
    const filters = Array.from(
      { length: rand() < 0.7 ? 1 : 2 + int(3) },
      () => randomFilter(kept),
    );
    const want = naiveQuery(kept, filters);
    const got = await reader.query(filters);
    if (got.length > 0) nonEmpty++;
    assertEquals(ids(got), ids(want), `query ${q}, seed ${SEED}: ${JSON.stringify(filters)}`);
    const unlimited = filters.map((f) => ({ ...f, limit: undefined }));
    assertEquals(
      await reader.count(filters),
      naiveQuery(kept, unlimited).length,
      `count ${q}, seed ${SEED}: ${JSON.stringify(filters)}`,
    );
  }
  // Guard against a generator drifting to filters that match nothing, which would prove nothing.
  assert(nonEmpty > QUERIES / 3, `only ${nonEmpty} of ${QUERIES} queries had results`);
}
