import { assertEquals } from "@std/assert";
import { Agent, Client, startRelay } from "./helpers.ts";

Deno.test("smoke: publish and query", async () => {
  const r = await startRelay();
  const c = await Client.connect(r.url);
  const a = new Agent();
  const ev = a.sign({ content: "hello" });
  const ok = await c.publish(ev);
  assertEquals(ok[2], true);
  const { events } = await c.req("s", { authors: [a.pubkey] });
  assertEquals(events.map((e) => e.id), [ev.id]);
  await c.close();
  await r.close();
});
