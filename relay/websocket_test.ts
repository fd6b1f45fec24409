import { assert, assertEquals } from "@std/assert";
import { loadConfig } from "../config.ts";
import { MemoryStore } from "../kv/memory_store.ts";
import type { NStore, StoreOptions } from "../kv/store.ts";
import { finalizeEvent, generateSecretKey } from "nostr-tools";
import type { Filter, NostrEvent } from "../nostr/types.ts";
import { inlineVerifier, type Verifier } from "../nostr/verifier.ts";
import { Relay } from "./relay.ts";
import { attachSocket, type RelaySocket, type SocketEvents } from "./websocket.ts";

/** A relay over `store`, and a connection to it through a socket that records what is sent. */
function attached(store: NStore): { events: SocketEvents; sent: string[] } {
  const env: Record<string, string> = { NEXUS_AUTH: "off", NEXUS_VERIFY_THREADS: "0" };
  const relay = new Relay({ config: loadConfig((n) => env[n]), store });
  const sent: string[] = [];
  const socket: RelaySocket = {
    open: true,
    bufferedAmount: 0,
    send: (data) => void sent.push(data),
    close() {},
  };
  const events = attachSocket(relay, socket, "127.0.0.1", "ws://127.0.0.1/");
  events.open();
  return { events, sent };
}

Deno.test("attachSocket: a message's promise settles once the relay has answered it", async () => {
  const { events, sent } = attached(new MemoryStore());
  // The corked transport stops reading while too many of these are unsettled (maxBusy).
  const handling = events.message(JSON.stringify(["REQ", "s", { kinds: [1] }]));
  assert(handling instanceof Promise, "the transport needs the promise to count messages in hand");
  await handling;
  assertEquals(JSON.parse(sent.at(-1)!), ["EOSE", "s"]);
  events.closed();
});

Deno.test("a connection's store reads are aborted when it closes: nobody is left to answer", async () => {
  const signals: Array<AbortSignal | undefined> = [];
  let release = () => {};
  const gate = new Promise<void>((r) => release = r);
  class WatchedStore extends MemoryStore {
    override async count(filters: Filter[], opts?: StoreOptions): Promise<number> {
      signals.push(opts?.signal);
      await gate;
      return super.count(filters);
    }
    override async query(filters: Filter[], opts?: StoreOptions) {
      signals.push(opts?.signal);
      await gate;
      return super.query(filters, opts);
    }
  }
  const { events, sent } = attached(new WatchedStore());
  const handling = [
    events.message(JSON.stringify(["COUNT", "c", { kinds: [1] }])),
    events.message(JSON.stringify(["REQ", "r", { kinds: [1] }])),
  ];
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(signals.length, 2);
  assert(signals.every((s) => s && !s.aborted), "open: reads run");
  events.closed();
  assert(signals.every((s) => s!.aborted), "closed: reads are told to stop");
  release();
  await Promise.all(handling);
  assertEquals(sent.filter((m) => !m.startsWith('["AUTH"')), [], "nothing is sent after the close");
});

/** A memory store whose queries wait to be released, recording the abort signal each was given. */
function heldReads() {
  const signals: Array<AbortSignal | undefined> = [];
  const releases: Array<() => void> = [];
  class HeldStore extends MemoryStore {
    override async query(filters: Filter[], opts?: StoreOptions) {
      signals.push(opts?.signal);
      await new Promise<void>((r) => releases.push(r));
      return super.query(filters, opts);
    }
  }
  return { store: new HeldStore(), signals, releases };
}

Deno.test("a REQ's store read is aborted when a REQ of the same id replaces it, or CLOSE ends it", async () => {
  const { store, signals, releases } = heldReads();
  const { events, sent } = attached(store);
  const first = events.message(JSON.stringify(["REQ", "s", { kinds: [1] }]));
  const second = events.message(JSON.stringify(["REQ", "s", { kinds: [7] }]));
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(signals.length, 2);
  assert(signals[0]!.aborted, "the replaced REQ's read is told to stop");
  assert(!signals[1]!.aborted, "the REQ that replaced it reads on");
  releases.forEach((r) => r());
  await Promise.all([first, second]);
  const answers = () => sent.filter((m) => !m.startsWith('["AUTH"'));
  assertEquals(answers(), ['["EOSE","s"]'], "one answer, the second REQ's");
  const third = events.message(JSON.stringify(["REQ", "t", { kinds: [1] }]));
  await new Promise((r) => setTimeout(r, 0));
  await events.message(JSON.stringify(["CLOSE", "t"]));
  assert(signals[2]!.aborted, "CLOSE stops the read");
  releases[2]!();
  await third;
  assertEquals(answers(), ['["EOSE","s"]'], "nothing for the closed REQ");
  events.closed();
});

Deno.test("an oversized REQ reusing a live id ends that subscription: its read stops, nothing follows CLOSED", async () => {
  const { store, signals, releases } = heldReads();
  await store.event({
    id: "a".repeat(64),
    pubkey: "b".repeat(64),
    created_at: 1,
    kind: 1,
    tags: [],
    content: "",
    sig: "c".repeat(128),
  });
  const { events, sent } = attached(store);
  const reading = events.message(JSON.stringify(["REQ", "s", { kinds: [1] }]));
  await new Promise((r) => setTimeout(r, 0));
  await events.message(JSON.stringify(["REQ", "s", { "#t": ["x".repeat(70_000)] }]));
  assert(signals[0]!.aborted, "the read of the subscription it closed stops");
  releases.forEach((r) => r());
  await reading;
  const answers = sent.filter((m) => !m.startsWith('["AUTH"'));
  assert(answers[0]!.startsWith('["CLOSED","s","invalid: message is larger'), answers[0]);
  assertEquals(answers.filter((m) => m.includes('"s"')).length, 1, "no EVENT or EOSE after it");
  events.closed();
});

Deno.test("each connection is its own source of work for the verifier and the store, which take turns by source", async () => {
  const verifiedFor: unknown[] = [];
  const storedFor: unknown[] = [];
  class RecordingStore extends MemoryStore {
    override event(ev: NostrEvent, opts?: StoreOptions) {
      storedFor.push(opts?.source);
      return super.event(ev);
    }
  }
  const verifier: Verifier = {
    verify(ev, source) {
      verifiedFor.push(source);
      return inlineVerifier.verify(ev);
    },
    close() {},
    threads: 0,
  };
  const env: Record<string, string> = { NEXUS_AUTH: "off" };
  const relay = new Relay({
    config: loadConfig((n) => env[n]),
    store: new RecordingStore(),
    verifier,
  });
  const connect = () => {
    const socket: RelaySocket = { open: true, bufferedAmount: 0, send() {}, close() {} };
    const events = attachSocket(relay, socket, "127.0.0.1", "ws://127.0.0.1/");
    events.open();
    return events;
  };
  const [a, b] = [connect(), connect()];
  const sk = generateSecretKey();
  const note = (i: number) =>
    finalizeEvent({ kind: 1, tags: [], content: `n${i}`, created_at: 1_700_000_000 + i }, sk);
  await Promise.all([
    a.message(JSON.stringify(["EVENT", note(1)])),
    a.message(JSON.stringify(["EVENT", note(2)])),
    b.message(JSON.stringify(["EVENT", note(3)])),
  ]);
  assertEquals(verifiedFor.length, 3);
  assertEquals(storedFor.length, 3);
  for (const seen of [verifiedFor, storedFor]) {
    assert(seen[0] !== undefined && seen[0] === seen[1], "one connection is one source");
    assert(seen[2] !== undefined && seen[2] !== seen[0], "another connection is another source");
  }
  a.closed();
  b.closed();
});
