import { assert, assertEquals } from "@std/assert";
import { finalizeEvent, generateSecretKey } from "nostr-tools";
import { parseEvent } from "./event.ts";
import type { NostrEvent } from "./types.ts";
import { verifyEvent } from "./verify.ts";

const limits = { maxEventTags: 3, maxContentLength: 10 };
const sk = generateSecretKey();
// Through JSON, as events arrive: finalizeEvent adds a Symbol(verified) we must not rely on.
const signed = (content = "hi"): NostrEvent =>
  JSON.parse(JSON.stringify(
    finalizeEvent({ kind: 1, tags: [["t", "x"]], content, created_at: 1000 }, sk),
  ));

Deno.test("parseEvent() returns a clean copy of a well-formed event", () => {
  const e = signed();
  const r = parseEvent({ ...e, extra: 1 }, limits);
  assertEquals(r, e);
});

Deno.test("parseEvent() reads created_at and kind of -0 as 0, the value the stored JSON keeps", () => {
  const e = signed();
  const r = parseEvent(
    JSON.parse(
      JSON.stringify(e).replace(/"kind":\d+/, '"kind":-0').replace(
        /"created_at":\d+/,
        '"created_at":-0',
      ),
    ),
    limits,
  );
  if (typeof r === "string") throw new Error(r);
  assertEquals(Object.is(r.created_at, 0), true);
  assertEquals(Object.is(r.kind, 0), true);
});

Deno.test("parseEvent() refuses every malformed field with invalid:", () => {
  const e = signed();
  const cases: Array<[string, unknown]> = [
    ["not an object", "x"],
    ["array", [e]],
    ["null", null],
    ["short id", { ...e, id: e.id.slice(2) }],
    ["upper-case id", { ...e, id: e.id.toUpperCase() }],
    ["numeric pubkey", { ...e, pubkey: 5 }],
    ["short sig", { ...e, sig: e.sig.slice(1) }],
    ["kind string", { ...e, kind: "1" }],
    ["kind float", { ...e, kind: 1.5 }],
    ["kind negative", { ...e, kind: -1 }],
    ["kind too big", { ...e, kind: 65536 }],
    ["created_at float", { ...e, created_at: 1.5 }],
    ["created_at string", { ...e, created_at: "1000" }],
    ["created_at negative", { ...e, created_at: -1 }],
    ["created_at past 2^53", { ...e, created_at: 2 ** 63 }],
    ["content number", { ...e, content: 1 }],
    ["content too long", { ...e, content: "x".repeat(11) }],
    ["tags object", { ...e, tags: {} }],
    ["tag not array", { ...e, tags: ["t"] }],
    ["empty tag", { ...e, tags: [[]] }],
    ["tag number", { ...e, tags: [["t", 1]] }],
    ["tag null", { ...e, tags: [["t", null]] }],
    ["too many tags", { ...e, tags: [["a"], ["b"], ["c"], ["d"]] }],
    ["missing tags", { ...e, tags: undefined }],
  ];
  for (const [name, raw] of cases) {
    const r = parseEvent(raw, limits);
    assert(typeof r === "string" && r.startsWith("invalid: "), `${name}: ${JSON.stringify(r)}`);
  }
  // Each refusal says what is wrong: a huge created_at is not negative, it is too large.
  assertEquals(
    parseEvent({ ...e, created_at: 2 ** 63 }, limits),
    "invalid: created_at is too large",
  );
  assertEquals(typeof parseEvent({ ...e, kind: 65535 }, limits), "object");
  assertEquals(typeof parseEvent({ ...e, content: "x".repeat(10) }, limits), "object");
});

Deno.test("verifyEvent() checks the id hash and the signature", () => {
  const e = signed();
  assert(verifyEvent(e));
  assert(!verifyEvent({ ...e, content: "changed" }), "id no longer matches the content");
  const otherId = signed("other");
  assert(!verifyEvent({ ...otherId, id: e.id }), "id of another event");
  const sig = e.sig.slice(0, -1) + (e.sig.endsWith("0") ? "1" : "0");
  assert(!verifyEvent({ ...e, sig }), "flipped signature bit");
  const other = finalizeEvent(
    { kind: 1, tags: [], content: "", created_at: 1 },
    generateSecretKey(),
  );
  assert(!verifyEvent({ ...e, pubkey: other.pubkey }), "someone else's pubkey");
});

Deno.test("parseEvent() counts content length in code points (NIP-11: unicode characters)", () => {
  // Ten emoji are twenty UTF-16 units but ten characters: within a limit of 10.
  const ten = signed("😀".repeat(10));
  assertEquals(parseEvent(ten, limits), ten);
  const eleven = signed("😀".repeat(11));
  assertEquals(parseEvent(eleven, limits), "invalid: content is longer than 10 characters");
});
