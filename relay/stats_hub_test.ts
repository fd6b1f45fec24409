import { assertEquals } from "@std/assert";
import { loadConfig } from "../config.ts";
import { MemoryStore } from "../kv/memory_store.ts";
import { Relay } from "./relay.ts";
import { StatsHub } from "./stats_hub.ts";
import { takeSnapshot } from "./stats_snapshot.ts";

function relay(): Relay {
  return new Relay({ config: loadConfig(() => undefined), store: new MemoryStore() });
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("StatsHub sums isolates on one channel and forgets silent ones", async () => {
  const channel = `nexus-stats-test:${crypto.randomUUID()}`;
  const ra = relay(), rb = relay();
  const a = new StatsHub(ra, { channel, publishMs: 50, expireMs: 400 });
  const b = new StatsHub(rb, { channel, publishMs: 50, expireMs: 400 });
  try {
    ra.stats.accept(1);
    rb.stats.accept(1);
    rb.stats.open();
    await until(() => a.snapshot().totals.stored === 2);
    const s = a.snapshot();
    assertEquals(s.isolates.map((i) => i.id).sort(), [a.id, b.id].sort());
    assertEquals(s.connections, 1);
    b.close();
    await until(() => a.snapshot().isolates.length === 1);
    assertEquals(a.snapshot().totals.stored, 1);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("StatsHub: sibling isolates answer alike, so a counter never steps back between them", async () => {
  const channel = `nexus-stats-test:${crypto.randomUUID()}`;
  const ra = relay(), rb = relay();
  const a = new StatsHub(ra, { channel, publishMs: 100 });
  const b = new StatsHub(rb, { channel, publishMs: 100 });
  const totals = () => [a.snapshot().totals.received, b.snapshot().totals.received];
  try {
    ra.stats.receive();
    rb.stats.receive();
    await until(() => totals().every((n) => n === 2));
    // Events reach one isolate between publications: a request to it and the next one to its
    // sibling still get the same total (live, the first said 7 and the second 2)...
    for (let i = 0; i < 5; i++) ra.stats.receive();
    assertEquals(totals(), [2, 2]);
    // ...and both show them after the next publication.
    await until(() => totals().every((n) => n === 7));
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("StatsHub: an isolate that hears its first sibling does not step back from its live numbers", async () => {
  const channel = `nexus-stats-test:${crypto.randomUUID()}`;
  const ra = relay(), rb = relay();
  const a = new StatsHub(ra, { channel, publishMs: 1000 });
  let b: StatsHub | undefined;
  try {
    await new Promise((r) => setTimeout(r, 1100)); // a published once, with nothing received
    for (let i = 0; i < 5; i++) ra.stats.receive();
    assertEquals(a.snapshot().totals.received, 5); // alone: live
    b = new StatsHub(rb, { channel, publishMs: 50 });
    await until(() => a.snapshot().isolates.length === 2);
    // Its own part now comes from a publication: one made when the sibling appeared, not the one
    // from before the five events (which would make the total step back to 0).
    assertEquals(a.snapshot().totals.received, 5);
  } finally {
    a.close();
    b?.close();
  }
});

Deno.test("StatsHub without a channel reports only its own isolate", () => {
  const r = relay();
  const hub = new StatsHub(r);
  r.stats.receive();
  const s = hub.snapshot();
  assertEquals([s.isolates.length, s.totals.received], [1, 1]);
  hub.close();
});

Deno.test("StatsHub sums isolates of other processes through the shared KV", async () => {
  // Different channels: as for two processes, only the KV connects them.
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  const ra = relay(), rb = relay();
  const opts = { kv, kvShareMs: 50 };
  const a = new StatsHub(ra, { ...opts, channel: `nexus-stats-test:${crypto.randomUUID()}` });
  const b = new StatsHub(rb, { ...opts, channel: `nexus-stats-test:${crypto.randomUUID()}` });
  try {
    ra.stats.accept(1);
    rb.stats.accept(1);
    rb.stats.accept(7);
    rb.stats.open();
    rb.stats.authenticate("ab".repeat(32), new Set());
    ra.stats.open();
    ra.stats.authenticate("ab".repeat(32), new Set());
    await until(() => a.snapshot().totals.stored === 3 && b.snapshot().totals.stored === 3);
    const s = a.snapshot();
    assertEquals(s.isolates.map((i) => i.id).sort(), [a.id, b.id].sort());
    assertEquals([s.connections, s.agents], [2, 1]);
    // A process that shuts down takes its snapshot with it.
    await b.close();
    await until(() => a.snapshot().isolates.length === 1, 15_000);
  } finally {
    a.close();
    b.close();
    await new Promise((r) => setTimeout(r, 100)); // let a write in flight finish
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StatsHub counts a KV snapshot while it changes, whatever its clock, and forgets a dead one", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  const a = new StatsHub(relay(), { kv, kvShareMs: 50, kvExpireMs: 600 });
  const other = relay();
  other.stats.accept(1);
  // Another machine's isolate whose clock runs an hour behind ours.
  const write = (at: number) =>
    kv.set(["stats", "skewed"], {
      ...takeSnapshot("skewed", other.stats, { subscriptions: 0 }),
      at,
    });
  try {
    const behind = Date.now() - 3_600_000;
    for (let i = 0; i < 8; i++) {
      await write(behind + i * 100); // alive: its snapshot keeps changing
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(a.snapshot().isolates.map((i) => i.id).sort(), [a.id, "skewed"].sort());
    assertEquals(a.snapshot().totals.stored, 1);
    // It crashed: the key stays (nothing deleted it) but stops changing.
    await until(() => a.snapshot().isolates.length === 1, 5000);
  } finally {
    await a.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
