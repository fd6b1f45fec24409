import { assert, assertEquals } from "@std/assert";
import type { NostrEvent } from "../nostr/types.ts";
import { Agent, Client, now, startRelay } from "./helpers.ts";

Deno.test("restart: every acknowledged event is still served from the same KV file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nexus-restart-" });
  const env = { NEXUS_KV_PATH: `${dir}/nexus.sqlite` };
  try {
    const a = new Agent();
    const t = now() - 1000;
    const acked: NostrEvent[] = [];
    let r = await startRelay(env);
    let c = await Client.connect(r.url);
    // Pipeline many events so the acks come from shared group commits.
    const evs = Array.from(
      { length: 150 },
      (_, i) => a.sign({ created_at: t + i, content: `${i}` }),
    );
    evs.push(a.sign({ kind: 0, created_at: t, content: "v1" }));
    evs.push(a.sign({ kind: 0, created_at: t + 1, content: "v2" }));
    evs.push(a.sign({ kind: 30000, created_at: t, tags: [["d", "x"]] }));
    for (const ev of evs) c.send(["EVENT", ev]);
    await c.until(() => c.received("OK").length === evs.length);
    for (const m of c.received("OK")) {
      if (m[2] === true) acked.push(evs.find((e) => e.id === m[1])!);
    }
    const deleted = evs[0]!;
    const del = a.sign({ kind: 5, tags: [["e", deleted.id]] });
    assertEquals((await c.publish(del))[2], true);
    await c.close();
    await r.close();

    r = await startRelay(env);
    c = await Client.connect(r.url);
    const want = [...acked.filter((e) => e.id !== deleted.id && e.content !== "v1"), del]
      .map((e) => e.id).sort();
    const got = (await c.req("all", { limit: 5000 })).events.map((e) => e.id).sort();
    assertEquals(got, want);
    assertEquals((await c.publish(deleted))[2], false, "the deletion survives the restart too");
    assertEquals((await c.publish(evs[1]!))[3].startsWith("duplicate:"), true);
    await c.close();
    await r.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restart: with a small window, the keys below answer a filter from memory and /api/stats and /metrics say so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nexus-restart-" });
  const env = { NEXUS_KV_PATH: `${dir}/nexus.sqlite`, NEXUS_HOT_EVENTS: "10" };
  try {
    const a = new Agent();
    const t = now() - 1000;
    let r = await startRelay(env);
    let c = await Client.connect(r.url);
    const evs = Array.from(
      { length: 40 },
      (_, i) => a.sign({ created_at: t + i, tags: [["t", `v${i}`]] }),
    );
    for (const ev of evs) assertEquals((await c.publish(ev))[2], true);
    await c.close();
    await r.close();

    // Restarted, the window holds the newest 10 and the keys of the 30 below are scanned in the
    // background; until that is done, a filter reaching below reads KV.
    r = await startRelay(env);
    c = await Client.connect(r.url);
    const proven = async () => {
      const s = await (await fetch(`${r.http}/api/stats`)).json();
      return s.storage.hot_events.filters_proven_empty_below_total as number;
    };
    assertEquals(await proven(), 0);
    const deadline = Date.now() + 10_000;
    let asked = 0;
    while ((await proven()) === 0) {
      assert(Date.now() < deadline, "no filter was answered through the keys below");
      assertEquals((await c.req(`n${asked++}`, { "#t": ["nobody"] })).events, []);
      await new Promise((res) => setTimeout(res, 50));
    }
    // An old value is below the window, so the keys below send it to KV, and it is found.
    const old = (await c.req("old", { "#t": ["v3"] })).events;
    assertEquals(old.map((e) => e.id), [evs[3]!.id]);
    const before = await proven();
    assertEquals(await c.count("c", { "#t": ["nobody"] }), 0);
    assert((await proven()) > before, "a COUNT is proven too");
    const metrics = await (await fetch(`${r.http}/metrics`)).text();
    assert(metrics.includes(`nexus_filters_proven_empty_below_total ${await proven()}\n`), metrics);
    await c.close();
    await r.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
