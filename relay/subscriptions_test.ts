import { assertEquals } from "@std/assert";
import type { Filter, NostrEvent } from "../nostr/types.ts";
import { type Sub, SubIndex } from "./subscriptions.ts";

const H = (c: string) => c.repeat(64);
const ev = (t: Partial<NostrEvent> = {}): NostrEvent => ({
  id: H("1"),
  pubkey: H("a"),
  created_at: 100,
  kind: 1,
  tags: [],
  content: "",
  sig: H("0") + H("0"),
  ...t,
});
const sub = (id: string, ...filters: Filter[]): Sub<string> => ({ id, conn: "c", filters });
const matched = (idx: SubIndex<string>, e: NostrEvent) => [...idx.match(e)].map((s) => s.id).sort();

Deno.test("SubIndex.match() finds every subscription with a matching filter, once", () => {
  const idx = new SubIndex<string>();
  idx.add(sub("all", {}));
  idx.add(sub("byId", { ids: [H("1")] }));
  idx.add(sub("byAuthor", { authors: [H("b"), H("a")] }));
  idx.add(sub("byKind", { kinds: [1] }));
  idx.add(sub("byTag", { "#t": ["x", "y"], kinds: [1] }));
  idx.add(sub("byUpperTag", { "#T": ["x"] }));
  idx.add(sub("twoFilters", { kinds: [1] }, { authors: [H("a")] }, { "#t": ["x"] }));
  idx.add(sub("since", { since: 101 }));
  idx.add(sub("until", { until: 100 }));
  idx.add(sub("otherKind", { kinds: [2] }));
  idx.add(sub("andFails", { authors: [H("a")], kinds: [2] }));
  idx.add(sub("multiTag", { "#t": ["x"], "#p": [H("c")] }));
  assertEquals(idx.size, 12);
  const e = ev({ tags: [["t", "x"], ["t", "x"], ["p", H("b")]] });
  assertEquals(matched(idx, e), [
    "all",
    "byAuthor",
    "byId",
    "byKind",
    "byTag",
    "twoFilters",
    "until",
  ]);
  assertEquals(
    matched(idx, ev({ id: H("2"), kind: 2, tags: [["T", "x"]], created_at: 200 })),
    [
      "all",
      "andFails",
      "byAuthor",
      "byUpperTag",
      "otherKind",
      "since",
      "twoFilters",
    ].filter((s) => s !== "andFails" || true).sort(),
  );
});

Deno.test("SubIndex.remove() stops matching and frees its buckets", () => {
  const idx = new SubIndex<string>();
  const a = sub("a", { kinds: [1] }, { "#t": ["x"] });
  const b = sub("b", { kinds: [1] });
  idx.add(a);
  idx.add(b);
  idx.remove(a);
  assertEquals(matched(idx, ev({ tags: [["t", "x"]] })), ["b"]);
  idx.remove(b);
  idx.remove(b); // removing twice is harmless
  assertEquals(idx.size, 0);
  assertEquals(matched(idx, ev()), []);
});

Deno.test("SubIndex.match() with long value lists: an event reaching a filter through many buckets matches by every field", () => {
  const idx = new SubIndex<string>();
  const ts = Array.from({ length: 1000 }, (_, i) => `t${i}`);
  const us = Array.from({ length: 1000 }, (_, i) => `u${i}`);
  const kinds = Array.from({ length: 100 }, (_, i) => i);
  const authors = Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(64, "0"));
  idx.add(sub("big", { "#t": ts, "#u": us, kinds, authors: [...authors, H("a")] }));
  idx.add(sub("small", { "#t": ["t5"] }));
  const tags = (u: string) => [...ts.slice(0, 300).map((t) => ["t", t]), ["u", u]];
  assertEquals(matched(idx, ev({ tags: tags("u999") })), ["big", "small"]);
  assertEquals(matched(idx, ev({ tags: tags("nope") })), ["small"]);
  assertEquals(matched(idx, ev({ tags: tags("u1"), kind: 100 })), ["small"]);
  assertEquals(matched(idx, ev({ tags: tags("u1"), pubkey: H("b") })), ["small"]);
  assertEquals(matched(idx, ev({ tags: [["t", "t999"], ["u", "u0"]], kind: 99 })), ["big"]);
});
