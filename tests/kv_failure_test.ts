/** A KV write that fails is answered with `error:` and leaves nothing partial behind. */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { Agent, Client, startRelay } from "./helpers.ts";
import { checkStore, consistent } from "../kv/check_store.ts";
import { idBytes, P } from "../kv/keys.ts";

Deno.test({
  name:
    "kv failure: writes caught by a failing KV get error:, and the store holds only whole events",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const r = await startRelay();
    const c = await Client.connect(r.url);
    const a = new Agent();
    const evs = Array.from(
      { length: 400 },
      (_, i) => a.sign({ content: `e${i}`, tags: [["t", `t${i % 7}`], ["p", a.pubkey]] }),
    );
    const oks = new Map<string, [boolean, string]>();
    c.ws.addEventListener("message", (e) => {
      const m = JSON.parse(e.data);
      if (m[0] === "OK") oks.set(m[1], [m[2], m[3]]);
    });
    for (const ev of evs) c.send(["EVENT", ev]);
    // Pull the KV out from under the store in the middle of the ingest.
    const deadline = Date.now() + 10_000;
    while (oks.size < 20 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 1));
    r.nexus.kv.close();
    await c.until(() => oks.size === evs.length, 20_000);

    const stored = [...oks].filter(([, v]) => v[0]).map(([id]) => id);
    const failed = [...oks].filter(([, v]) => !v[0]);
    assert(
      stored.length > 0 && failed.length > 0,
      `${stored.length} stored, ${failed.length} failed`,
    );
    for (const [, [, msg]] of failed) assertMatch(msg, /^error: /);
    // Reads fail the same way, and the connection stays open.
    const res = await c.req("q", { kinds: [1] });
    assertMatch(res.closed ?? "", /^error: /);
    // NIP-45: a COUNT the relay cannot fulfil is answered with CLOSED, not a NOTICE.
    assertMatch(String(await c.count("n", { kinds: [1] })), /^error: /);
    assertEquals(c.ws.readyState, WebSocket.OPEN);
    await c.close();
    await r.close(); // shutdown completes even though the KV is already gone

    const kv = await Deno.openKv(r.kvPath);
    const report = await checkStore(kv);
    assert(consistent(report), JSON.stringify(report).slice(0, 500));
    assertEquals(report.events, stored.length, "exactly the acknowledged events are stored");
    for (const [id] of failed) {
      assertEquals((await kv.get([P.event, idBytes(id)])).value, null);
    }
    kv.close();
  },
});
