/**
 * Fuzzing over real sockets: tens of thousands of random and mutated frames over many connections.
 * The relay must answer without crashing, keep memory bounded, leave stored events untouched and
 * keep serving a well-behaved client. Seeded: FUZZ_SEED=<n> replays a run.
 */
import { assert, assertEquals } from "@std/assert";
import { Agent, Client, startRelay } from "./helpers.ts";
import type { NostrEvent } from "../nostr/types.ts";
import { prng } from "./prng.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? Date.now() % 1_000_000);
const CONNECTIONS = 16;
const MESSAGES = 40_000;
const BUDGET_MS = 20_000;

const rand = prng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

const NUMBERS = [0, -1, 1e308, -1e308, 2 ** 53 + 1, 2 ** 64, 0.5, -0, 65536, 4294967296];
const RAW_NUMBERS = ["1e400", "-1e400", "123456789012345678901234567890", "1.7976931348623157e309"];
const STRINGS = [
  "",
  "EVENT",
  "REQ",
  "\u0000",
  "\ud800",
  "__proto__",
  "constructor",
  "é".repeat(50),
];

function randomValue(depth = 0): unknown {
  switch (int(depth > 4 ? 4 : 7)) {
    case 0:
      return pick(NUMBERS);
    case 1:
      return pick(STRINGS) + "x".repeat(int(3) === 0 ? int(500) : 0);
    case 2:
      return pick([null, true, false]);
    case 3:
      return "0123456789abcdef".repeat(4).slice(int(64));
    case 4:
      return Array.from({ length: int(5) }, () => randomValue(depth + 1));
    case 5: {
      const o: Record<string, unknown> = {};
      const keys = [
        "ids",
        "authors",
        "kinds",
        "#e",
        "#p",
        "#t",
        "since",
        "until",
        "limit",
        "id",
        "pubkey",
        "sig",
        "kind",
        "tags",
        "content",
        "created_at",
        "__proto__",
        "search",
      ];
      for (let i = int(5); i > 0; i--) o[pick(keys)] = randomValue(depth + 1);
      return o;
    }
    default:
      return "a".repeat(int(5000));
  }
}

function mutate(s: string): string {
  let out = s;
  for (let n = 1 + int(5); n > 0; n--) {
    const i = int(out.length + 1);
    switch (int(6)) {
      case 0:
        out = out.slice(0, i) + out.slice(i + 1 + int(10));
        break;
      case 1:
        out = out.slice(0, i) + pick(['"', "[", "]", "{", "}", ",", ":", "\\", "9", "e"]) +
          out.slice(i);
        break;
      case 2:
        out = out.slice(0, i) + pick(RAW_NUMBERS) + out.slice(i);
        break;
      case 3:
        out = out.slice(0, i);
        break;
      case 4:
        out = out.slice(0, i) + out.slice(int(out.length)) + out.slice(i);
        break;
      default:
        out = out.replace(/\d+/, pick(RAW_NUMBERS));
    }
  }
  return out;
}

function deep(n: number, open = "[", close = "]"): string {
  return open.repeat(n) + (int(2) ? close.repeat(n) : close.repeat(int(n)));
}

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
}

/** One fuzz frame: text or binary. */
function frame(templates: string[]): string | Uint8Array {
  switch (int(20)) {
    case 0:
      return randomBytes(1 + int(300));
    case 1:
      return new Uint8Array([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1]);
    case 2:
      return JSON.stringify(randomValue());
    case 3:
      return JSON.stringify([
        pick(["EVENT", "REQ", "COUNT", "CLOSE", "AUTH", "NOPE"]),
        ...Array.from({ length: int(4) }, () => randomValue()),
      ]);
    case 4:
      return pick([
        deep(1 + int(30_000)),
        deep(1 + int(10_000), '{"a":', "}"),
        `["REQ","d",${deep(1 + int(20_000))}]`,
        `["EVENT",${deep(1 + int(20_000), '{"tags":', "}")}]`,
      ]);
    case 5:
      return int(40) === 0 ? "x".repeat(1_000_000 + int(1000)) : "[" + "1,".repeat(35_000) + "1]";
    case 6:
      return String.fromCharCode(...Array.from({ length: int(200) }, () => int(0x10000)));
    case 7:
      return pick(["PING", "pong", "", "[]", "{}", "null", '["EVENT"]', '["REQ"]', '["CLOSE"]']);
    default:
      return mutate(pick(templates));
  }
}

Deno.test({
  name: `fuzz: random and mutated frames never break the relay (seed ${SEED})`,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const r = await startRelay({ NEXUS_RATE_LIMITS: "on" });
    const author = new Agent();
    // Publish the events whose integrity we check afterwards.
    const keeper = await Client.connect(r.url);
    const kept: NostrEvent[] = [];
    for (let i = 0; i < 30; i++) {
      const ev = author.sign({
        kind: [1, 7, 1111][i % 3]!,
        tags: [["t", "kept"], ["p", author.pubkey]],
        content: `kept ${i}`,
      });
      assertEquals((await keeper.publish(ev))[2], true);
      kept.push(ev);
    }
    await keeper.close();
    const other = new Agent();
    const templates = [
      JSON.stringify(["EVENT", other.sign({ content: "template", tags: [["t", "x"]] })]),
      JSON.stringify(["EVENT", other.sign({ kind: 4, tags: [["p", author.pubkey]] })]),
      JSON.stringify(["EVENT", other.sign({ kind: 5, tags: [["e", kept[0]!.id]] })]),
      JSON.stringify(["REQ", "sub", { kinds: [1], limit: 10 }, { "#t": ["kept"] }]),
      JSON.stringify(["COUNT", "c", { authors: [author.pubkey] }]),
      JSON.stringify(["CLOSE", "sub"]),
      JSON.stringify([
        "AUTH",
        other.sign({ kind: 22242, tags: [["relay", r.url], ["challenge", "x"]] }),
      ]),
    ];

    const rssBefore = Deno.memoryUsage().rss;
    const started = Date.now();
    let sent = 0;
    let received = 0;
    const worker = async () => {
      while (sent < MESSAGES && Date.now() - started < BUDGET_MS) {
        const c = new Client(r.url);
        await c.opened;
        const batch = 100 + int(400);
        for (let i = 0; i < batch && sent < MESSAGES; i++, sent++) c.ws.send(frame(templates));
        if (int(5) === 0) {
          c.ws.close(); // drop the connection with work still in flight
          continue;
        }
        // Frames are handled in order and "ping" is never fuzzed: once "pong" is back, the relay
        // has parsed the whole batch (commits may still be in flight).
        c.send("ping");
        await c.take((m) => m === "pong", 20_000);
        received += c.inbox.length;
        await c.close();
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
    const rssAfter = Deno.memoryUsage().rss;
    console.log(
      `fuzz seed ${SEED}: ${sent} frames, ${received} answers in ${Date.now() - started} ms, rss ${
        (rssBefore / 1e6).toFixed(0)
      } -> ${(rssAfter / 1e6).toFixed(0)} MB`,
    );
    assert(sent >= 10_000, `only ${sent} frames sent`);
    assert(received > 0);
    // Generous: the test process holds client buffers too; unbounded growth would show in GBs.
    assert(rssAfter - rssBefore < 500e6, `rss grew ${(rssAfter - rssBefore) / 1e6} MB`);

    // Another client is served normally, and the stored events are untouched.
    const c = await Client.connect(r.url);
    const fresh = new Agent().sign({ content: "after the storm" });
    assertEquals((await c.publish(fresh))[2], true);
    assertEquals((await c.req("fresh", { ids: [fresh.id] })).events.length, 1);
    const { events } = await c.req("kept", { authors: [author.pubkey], "#t": ["kept"] });
    const canon = (evs: NostrEvent[]) =>
      evs.map((e) =>
        JSON.stringify([e.id, e.pubkey, e.created_at, e.kind, e.tags, e.content, e.sig])
      )
        .sort();
    assertEquals(canon(events), canon(kept));
    await c.close();
    // Nothing leaks per connection: every fuzz connection and subscription is gone.
    const relay = r.nexus.relay;
    for (let i = 0; i < 100 && relay.connections.size > 0; i++) {
      await new Promise((res) => setTimeout(res, 20));
    }
    assertEquals(relay.connections.size, 0);
    assertEquals(relay.subs.size, 0);
    await r.close();
  },
});
