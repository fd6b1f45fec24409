import { assert, assertEquals } from "@std/assert";
import { compareEvents, matchFilter, matchFilters, parseFilter, tagConditions } from "./filter.ts";
import type { NostrEvent } from "./types.ts";

const H = (c: string) => c.repeat(64);
const limits = { maxValues: 3 };
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

Deno.test("parseFilter() accepts every NIP-01 field and single-letter tags of both cases", () => {
  const f = {
    ids: [H("1")],
    authors: [H("a")],
    kinds: [0, 65535],
    since: 0,
    until: 5,
    limit: 0,
    "#t": ["x"],
    "#T": ["y"],
    "#e": [H("2")],
  };
  assertEquals(parseFilter(f, limits), f);
  assertEquals(parseFilter({}, limits), {});
});

Deno.test("parseFilter() keeps each value once, so repeats cost no scan or index entry", () => {
  const f = parseFilter({
    ids: [H("1"), H("1")],
    authors: [H("a"), H("a"), H("a")],
    kinds: [1, 7, 1],
    "#t": ["x", "y", "x"],
  }, limits);
  assertEquals(f, { ids: [H("1")], authors: [H("a")], kinds: [1, 7], "#t": ["x", "y"] });
});

Deno.test("parseFilter() refuses malformed filters with invalid:", () => {
  for (
    const bad of [
      null,
      [],
      "x",
      { ids: "x" },
      { ids: ["ABC"] },
      { ids: [H("A")] },
      { authors: [H("a").slice(1)] },
      { kinds: [1.5] },
      { kinds: [-1] },
      { kinds: [65536] },
      { kinds: ["1"] },
      { since: -1 },
      { until: 1.5 },
      { limit: "10" },
      { "#tt": ["x"] },
      { "#1": ["x"] },
      { "#t": "x" },
      { "#t": [1] },
      { "#e": ["not-hex"] },
      { unknown: 1 },
      { kinds: [1, 2, 3, 4] },
    ]
  ) {
    const r = parseFilter(bad, limits);
    assert(typeof r === "string" && r.startsWith("invalid: "), JSON.stringify(bad));
  }
});

Deno.test("matchFilter() ANDs fields, ORs values, and treats since/until as inclusive", () => {
  const e = ev({ tags: [["t", "x"], ["T", "Y"], ["p", H("b")], ["e"]] });
  assert(matchFilter({}, e));
  assert(matchFilter({ ids: [H("2"), H("1")] }, e));
  assert(!matchFilter({ ids: [H("2")] }, e));
  assert(matchFilter({ authors: [H("a")], kinds: [2, 1] }, e));
  assert(!matchFilter({ authors: [H("a")], kinds: [2] }, e));
  assert(matchFilter({ since: 100, until: 100 }, e));
  assert(!matchFilter({ since: 101 }, e));
  assert(!matchFilter({ until: 99 }, e));
  assert(matchFilter({ "#t": ["x"], "#T": ["Y"] }, e));
  assert(!matchFilter({ "#t": ["Y"] }, e), "tag letters are case-sensitive");
  assert(!matchFilter({ "#T": ["x"] }, e));
  assert(!matchFilter({ "#t": ["x"], "#p": [H("c")] }, e));
  assert(!matchFilter({ "#e": [""] }, e), "a tag without a value matches nothing");
  assert(matchFilter({ limit: 0 }, e), "limit is not a condition");
  assert(matchFilters([{ kinds: [2] }, { "#p": [H("b")] }], e));
  assert(!matchFilters([{ kinds: [2] }, { "#p": [H("c")] }], e));
  assert(!matchFilters([], e));
});

Deno.test("compareEvents() sorts newest first, ties by lowest id", () => {
  const a = ev({ id: H("3"), created_at: 5 });
  const b = ev({ id: H("1"), created_at: 5 });
  const c = ev({ id: H("9"), created_at: 7 });
  assertEquals([a, b, c].sort(compareEvents).map((e) => e.id), [H("9"), H("1"), H("3")]);
});

Deno.test("tagConditions() lists only #<letter> keys", () => {
  assertEquals(tagConditions({ kinds: [1], "#t": ["x"], "#Z": ["y"] }), [["t", ["x"]], [
    "Z",
    ["y"],
  ]]);
});

Deno.test("matchFilter() with value lists long enough to be looked up through a set", () => {
  const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
  const f = {
    ids: [...many(40, (i) => H(String(i % 10))).slice(0, 9), H("f")].concat(many(20, () => H("e"))),
    authors: many(30, (i) => i.toString(16).padStart(64, "0")),
    kinds: many(30, (i) => String(i)).map(Number),
    "#t": many(50, (i) => `v${i}`),
  };
  const ev = {
    id: H("f"),
    pubkey: (29).toString(16).padStart(64, "0"),
    created_at: 1,
    kind: 29,
    tags: [["t", "nope"], ["t", "v49"]],
    content: "",
    sig: "",
  };
  assert(matchFilter(f, ev));
  assert(!matchFilter(f, { ...ev, id: H("d") }));
  assert(!matchFilter(f, { ...ev, pubkey: H("a") }));
  assert(!matchFilter(f, { ...ev, kind: 30 }));
  assert(!matchFilter(f, { ...ev, tags: [["t", "v50"], ["u", "v1"]] }));
});
