import { assert, assertEquals } from "@std/assert";
import { concat } from "@std/bytes/concat";
import { closePayload, frameHeader, FrameReader, type Incoming, Op } from "./frames.ts";

const encoder = new TextEncoder();

/** A masked client frame, as a browser sends it. */
function clientFrame(op: number, payload: Uint8Array, fin = true): Uint8Array {
  const head = frameHeader(op, payload.length);
  head[0] = (fin ? 0x80 : 0) | op;
  head[1]! |= 0x80;
  const mask = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);
  const out = new Uint8Array(head.length + 4 + payload.length);
  out.set(head);
  out.set(mask, head.length);
  for (let i = 0; i < payload.length; i++) out[head.length + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** Feed a byte stream to a reader in the given chunk sizes. */
function readAll(reader: FrameReader, bytes: Uint8Array, sizes: number[]): Incoming[] {
  const out: Incoming[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(...reader.push(bytes.subarray(at, at + n)));
    at += n;
  }
  return out;
}

Deno.test("FrameReader: messages of every length form, fragmented or not, in any chunking", () => {
  const texts = ["", "a", "é".repeat(62), "x".repeat(126), "y".repeat(70_000)];
  const stream = concat([
    ...texts.map((t) => clientFrame(Op.text, encoder.encode(t))),
    // One message in three fragments, a ping between them.
    clientFrame(Op.text, encoder.encode("frag"), false),
    clientFrame(Op.continuation, encoder.encode("men"), false),
    clientFrame(Op.ping, encoder.encode("p")),
    clientFrame(Op.continuation, encoder.encode("ted"), true),
    clientFrame(Op.binary, Uint8Array.of(1, 2, 3)),
  ]);
  for (const sizes of [[stream.length], [1], [2, 3, 5, 7], [13, 1000, 1]]) {
    const got = readAll(new FrameReader(1 << 20), stream, sizes);
    assertEquals(got, [
      ...texts.map((data) => ({ type: "text" as const, data })),
      { type: "ping", data: encoder.encode("p") },
      { type: "text", data: "fragmented" },
      { type: "binary", data: Uint8Array.of(1, 2, 3) },
    ], `chunks of ${sizes}`);
  }
});

Deno.test("FrameReader: a violation keeps what came before it and stops there", () => {
  const cases: Array<[string, Uint8Array, number]> = [
    ["unmasked", concat([frameHeader(Op.text, 1), encoder.encode("a")]), 1002],
    [
      "reserved bit",
      (() => {
        const f = clientFrame(Op.text, encoder.encode("a"));
        f[0]! |= 0x40;
        return f;
      })(),
      1002,
    ],
    ["continuation first", clientFrame(Op.continuation, encoder.encode("a")), 1002],
    [
      "text inside a fragmented text",
      concat([
        clientFrame(Op.text, encoder.encode("a"), false),
        clientFrame(Op.text, encoder.encode("b")),
      ]),
      1002,
    ],
    ["long ping", clientFrame(Op.ping, new Uint8Array(126)), 1002],
    ["fragmented ping", clientFrame(Op.ping, new Uint8Array(1), false), 1002],
    ["unknown opcode", clientFrame(0x3, new Uint8Array(1)), 1002],
    ["bad UTF-8", clientFrame(Op.text, Uint8Array.of(0xff, 0xfe)), 1007],
    ["too big", clientFrame(Op.text, new Uint8Array(101)), 1009],
    [
      "too big in fragments",
      concat([
        clientFrame(Op.text, new Uint8Array(60), false),
        clientFrame(Op.continuation, new Uint8Array(60)),
      ]),
      1009,
    ],
    ["close code 1005", clientFrame(Op.close, Uint8Array.of(0x03, 0xed)), 1002],
    ["close of one byte", clientFrame(Op.close, Uint8Array.of(0x03)), 1002],
  ];
  for (const [name, bad, code] of cases) {
    const reader = new FrameReader(100);
    const got = reader.push(concat([clientFrame(Op.text, encoder.encode("ok")), bad]));
    assertEquals(got, [{ type: "text", data: "ok" }], name);
    assertEquals(reader.failed?.code, code, name);
    assertEquals(reader.push(clientFrame(Op.text, encoder.encode("more"))), [], name);
  }
});

Deno.test("FrameReader: close frames carry their code and reason", () => {
  const reader = new FrameReader(100);
  assertEquals(reader.push(clientFrame(Op.close, closePayload(1000, "bye"))), [
    { type: "close", code: 1000, reason: "bye" },
  ]);
  assertEquals(reader.push(clientFrame(Op.close, new Uint8Array(0))), [
    { type: "close", code: undefined, reason: "" },
  ]);
});

Deno.test("frameHeader and closePayload: the three length forms; a reason cut whole", () => {
  assertEquals(frameHeader(Op.text, 125), Uint8Array.of(0x81, 125));
  assertEquals(frameHeader(Op.text, 126), Uint8Array.of(0x81, 126, 0, 126));
  assertEquals(frameHeader(Op.text, 65536), Uint8Array.of(0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0));
  const long = closePayload(1001, "é".repeat(100));
  assert(long.length <= 125);
  assertEquals(new TextDecoder("utf-8", { fatal: true }).decode(long.subarray(2)).length, 61);
});

Deno.test("FrameReader: a message of a thousand one-byte fragments", () => {
  const parts = [clientFrame(Op.text, encoder.encode("a"), false)];
  for (let i = 0; i < 998; i++) {
    parts.push(clientFrame(Op.continuation, encoder.encode("b"), false));
  }
  parts.push(clientFrame(Op.continuation, encoder.encode("c")));
  const got = new FrameReader(1000).push(concat(parts));
  assertEquals(got, [{ type: "text", data: "a" + "b".repeat(998) + "c" }]);
});

Deno.test("FrameReader: a header announcing a large frame allocates nothing like its size", () => {
  const head = frameHeader(Op.text, 1 << 20);
  head[1]! |= 0x80;
  const announce = concat([head, new Uint8Array(4), Uint8Array.of(0x61)]);
  const before = Deno.memoryUsage().external;
  const readers = Array.from({ length: 100 }, () => new FrameReader(2 << 20));
  for (const r of readers) assertEquals(r.push(announce), []);
  const grown = Deno.memoryUsage().external - before;
  assert(grown < 10 * 2 ** 20, `100 announced 1 MiB frames took ${grown} bytes`);
  // And the frame still completes when its bytes come.
  const rest = new Uint8Array((1 << 20) - 1).fill(0x62);
  const got = readers[0]!.push(rest);
  assertEquals(got.length, 1);
  assertEquals((got[0] as { data: string }).data.length, 1 << 20);
});
