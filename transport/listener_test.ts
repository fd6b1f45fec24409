import { assertEquals } from "@std/assert";
import { listenCorked } from "./listener.ts";

Deno.test("listenCorked: its sockets share what may be in hand, so one flooding client holds only its part", async () => {
  const handed = new Map<string, number>();
  const releases: Array<() => void> = [];
  let open = 0;
  const listener = listenCorked({
    hostname: "127.0.0.1",
    port: 0,
    maxMessageBytes: 1 << 16,
    idleTimeoutMs: 0,
    fallback: { transport: "tcp", hostname: "127.0.0.1", port: 9 },
    upgrade: (req) => {
      const name = new URL(req.url).searchParams.get("name")!;
      return () => ({
        open: () => void open++,
        // Every message stays in hand until the test lets it go.
        message: () => {
          handed.set(name, (handed.get(name) ?? 0) + 1);
          return new Promise<void>((r) => releases.push(r));
        },
        binary() {},
        closed: () => void open--,
      });
    },
  });
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const connect = async (name: string) => {
    const ws = new WebSocket(`ws://127.0.0.1:${listener.addr.port}/?name=${name}`);
    await new Promise((r) => ws.onopen = r);
    return ws;
  };
  const [a, b, c] = await Promise.all(["a", "b", "c"].map(connect));
  b!.send("one");
  c!.send("one");
  await wait(100);
  for (let i = 0; i < 300; i++) a!.send(`m${i}`);
  await wait(300);
  assertEquals(handed.get("a"), Math.floor(256 / 3), "three busy sockets split 256");
  for (const ws of [a, b, c]) ws!.close();
  // A paused socket reads its peer's close only once it reads again: let everything go.
  while (open > 0) {
    releases.splice(0).forEach((r) => r());
    await wait(20);
  }
  listener.close();
  await listener.drained();
});
