import { assert, assertEquals } from "@std/assert";
import { finalizeEvent, generateSecretKey } from "nostr-tools";
import type { NostrEvent } from "../nostr/types.ts";
import { AUTH_WINDOW_SECONDS, checkAuth, sameRelay } from "./auth.ts";

const sk = generateSecretKey();
const NOW = 1_700_000_000;
const URL_ = "wss://relay.example.com";
const authEvent = (t: { kind?: number; tags?: string[][]; created_at?: number } = {}) =>
  JSON.parse(JSON.stringify(finalizeEvent({
    kind: t.kind ?? 22242,
    tags: t.tags ?? [["relay", URL_], ["challenge", "abc"]],
    content: "",
    created_at: t.created_at ?? NOW,
  }, sk))) as NostrEvent;

Deno.test("checkAuth() accepts a fresh, signed kind 22242 for this challenge and relay", () => {
  assertEquals(checkAuth(authEvent(), "abc", URL_, NOW), undefined);
  assertEquals(
    checkAuth(authEvent({ created_at: NOW - AUTH_WINDOW_SECONDS }), "abc", URL_, NOW),
    undefined,
  );
  assertEquals(checkAuth(authEvent(), "abc", "ws://relay.example.com/", NOW), undefined);
});

Deno.test("checkAuth() refuses each wrong field with invalid:", () => {
  const cases: Array<[string, NostrEvent]> = [
    ["kind", authEvent({ kind: 1 })],
    ["challenge", authEvent({ tags: [["relay", URL_], ["challenge", "abd"]] })],
    ["no challenge", authEvent({ tags: [["relay", URL_]] })],
    ["relay", authEvent({ tags: [["relay", "wss://other.example.com"], ["challenge", "abc"]] })],
    ["no relay", authEvent({ tags: [["challenge", "abc"]] })],
    ["stale", authEvent({ created_at: NOW - AUTH_WINDOW_SECONDS - 1 })],
    ["future", authEvent({ created_at: NOW + AUTH_WINDOW_SECONDS + 1 })],
    ["signature", { ...authEvent(), sig: "0".repeat(128) }],
    ["id", { ...authEvent(), id: "0".repeat(64) }],
  ];
  for (const [name, ev] of cases) {
    const r = checkAuth(ev, "abc", URL_, NOW);
    assert(r?.startsWith("invalid: "), `${name}: ${r}`);
  }
});

Deno.test("sameRelay() compares host and port, ignoring scheme, path and default ports", () => {
  assert(sameRelay("wss://Relay.Example.com", "ws://relay.example.com/"));
  assert(sameRelay("https://relay.example.com:443/path", "wss://relay.example.com"));
  assert(sameRelay("ws://127.0.0.1:8000", "ws://127.0.0.1:8000/"));
  assert(sameRelay("relay.example.com", "wss://relay.example.com"));
  assert(!sameRelay("ws://127.0.0.1:8000", "ws://127.0.0.1:8001"));
  assert(!sameRelay("wss://relay.example.com", "wss://evil.example.com"));
  assert(!sameRelay("wss://relay.example.com.evil.com", "wss://relay.example.com"));
  assert(!sameRelay("", "wss://relay.example.com"));
  assert(!sameRelay("http://[bad", "wss://relay.example.com"));
});

Deno.test("sameRelay() treats localhost, 127.0.0.1 and [::1] as one host, port still counts", () => {
  assert(sameRelay("ws://localhost:8000", "ws://127.0.0.1:8000"));
  assert(sameRelay("ws://[::1]:8000/", "ws://localhost:8000"));
  assert(!sameRelay("ws://localhost:8000", "ws://127.0.0.1:8001"));
  assert(!sameRelay("ws://localhost:8000", "ws://10.0.0.1:8000"));
});
