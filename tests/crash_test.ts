/**
 * Crash safety: SIGKILL the relay process in the middle of a heavy ingest, restart it on the same
 * KV, and check that every event that got `OK true` is served and the indexes are consistent.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { Agent, Client } from "./helpers.ts";
import { checkStoreTask, spawnRelay } from "./process.ts";
import type { NostrEvent } from "../nostr/types.ts";

const WRITERS = 4;
const PER_WRITER = 600;

Deno.test({
  name: "crash: events acknowledged before a SIGKILL survive it, and the store stays consistent",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "nexus-crash-" });
    const kvPath = `${dir}/nexus.sqlite`;
    const agents = Array.from({ length: WRITERS }, () => new Agent());
    // Mixed kinds and tags so replaceable pointers and tag indexes are exercised too.
    const batches: NostrEvent[][] = agents.map((a, w) =>
      Array.from(
        { length: PER_WRITER },
        (_, i) =>
          i % 50 === 0
            ? a.sign({ kind: 30000 + w, tags: [["d", `slot${i % 3}`]], content: `addr ${i}` })
            : a.sign({
              kind: 1,
              tags: [["t", `w${w}`], ["e", "ab".repeat(32)]],
              content: `n ${i}`,
            }),
      )
    );

    const first = await spawnRelay(kvPath);
    const acked = new Set<string>();
    const clients = await Promise.all(agents.map(() => Client.connect(first.url)));
    clients.forEach((c, w) => {
      c.ws.addEventListener("message", (e) => {
        try {
          const m = JSON.parse(e.data);
          if (m[0] === "OK" && m[2] === true) acked.add(m[1]);
        } catch { /* not JSON */ }
      });
      for (const ev of batches[w]!) c.send(["EVENT", ev]);
    });
    const deadline = Date.now() + 15_000;
    while (acked.size < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    first.child.kill("SIGKILL");
    const status = await first.child.status;
    const ackedAtKill = acked.size;
    assertEquals(status.signal, "SIGKILL");
    assert(ackedAtKill >= 300, `only ${ackedAtKill} acknowledged before the deadline`);
    assert(ackedAtKill < WRITERS * PER_WRITER, "the kill must land mid-ingest");
    for (const c of clients) await c.close();

    const second = await spawnRelay(kvPath);
    const reader = await Client.connect(second.url);
    const ids = [...acked];
    const served = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const { events } = await reader.req(`q${i}`, { ids: chunk, limit: 500 });
      for (const e of events) served.add(e.id);
    }
    // An addressable event acknowledged and then replaced by a later acknowledged one is gone by
    // design; every other acknowledged event must be served.
    const replaced = new Set(
      batches.flat().filter((e) => e.kind >= 30000 && acked.has(e.id)).map((e) => e.id),
    );
    const lost = ids.filter((id) => !served.has(id) && !replaced.has(id));
    assertEquals(lost, [], `${lost.length} of ${ids.length} acknowledged events lost`);
    // And the relay still takes writes on the recovered store.
    const after = agents[0]!.sign({ content: "after restart" });
    assertEquals((await reader.publish(after))[2], true);
    await reader.close();
    second.child.kill("SIGTERM");
    await second.child.status;

    const check = await checkStoreTask(kvPath);
    assertEquals(check.code, 0, check.out);
    assertStringIncludes(check.out, "consistent");
    await Deno.remove(dir, { recursive: true });
  },
});
