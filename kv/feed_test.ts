import { assertEquals } from "@std/assert";
import { type FeedOptions, FeedTailer } from "./feed.ts";
import { KvStore } from "./kv_store.ts";
import { fake } from "./store_contract.ts";

/** Wait until `cond` holds or `ms` pass; returns whether it held. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

/** Run `fn` with a store writing to a fresh file and a tailer on a second handle to it. */
async function withFeed(
  opts: FeedOptions,
  fn: (writer: KvStore, tailer: FeedTailer, got: string[]) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "nexus-feed-" });
  const writer = new KvStore(await Deno.openKv(`${dir}/f.sqlite`));
  const kv = await Deno.openKv(`${dir}/f.sqlite`);
  const got: string[] = [];
  const tailer = new FeedTailer(kv, (b) => {
    for (const c of b.changes) if ("ev" in c) got.push(c.ev.id);
  }, opts);
  try {
    await tailer.start();
    await fn(writer, tailer, got);
  } finally {
    await tailer.close();
    kv.close();
    await writer.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("feed: a watch notice readOnWatch declines is read deferMs later, not at the next poll", async () => {
  let allow = true;
  // A poll interval far beyond the test: only the watch (or an explicit poll) can bring events.
  const opts = { pollMs: 600_000, readOnWatch: () => allow, deferMs: 800 };
  await withFeed(opts, async (writer, tailer, got) => {
    const a = fake({ content: "a" });
    await writer.event(a);
    assertEquals(await until(() => got.length === 1, 3000), true, "the watch woke the tailer");
    allow = false;
    // A's notices may have queued a read that has not run yet: let it finish before b is written.
    await tailer.poll();
    const b = fake({ content: "b" });
    await writer.event(b);
    assertEquals(await until(() => got.length === 2, 400), false, "the watch was told to wait");
    assertEquals(await until(() => got.length === 2, 3000), true, "the deferred read came");
    const c = fake({ content: "c" });
    await writer.event(c);
    await tailer.poll();
    assertEquals(got, [a.id, b.id, c.id], "an explicit poll reads at once");
  });
});

Deno.test("feed: poll() called while a read runs resolves only after a read that saw later commits", async () => {
  // Only explicit polls read: no timer, and every watch notice is put off past the test.
  const opts = { pollMs: 600_000, readOnWatch: () => false, deferMs: 500_000 };
  await withFeed(opts, async (writer, tailer, got) => {
    // A backlog of separate commits keeps the first read busy (it yields between entries).
    for (let i = 0; i < 100; i++) await writer.event(fake({ content: `backlog ${i}` }));
    const first = tailer.poll();
    const late = fake({ content: "late" });
    await writer.event(late);
    await tailer.poll();
    assertEquals(got.includes(late.id), true, "committed before the second poll, so read by it");
    assertEquals(got.length, 101);
    await first;
  });
});

Deno.test("feed: close() during a backlog's replay stops it at the next entry", async () => {
  const opts = { pollMs: 600_000, readOnWatch: () => false, deferMs: 500_000 };
  await withFeed(opts, async (writer) => {
    for (let i = 0; i < 50; i++) await writer.event(fake({ content: `backlog ${i}` }));
    // A second tailer on the writer's own handle, closed by its handler at the first entry.
    let handed = 0;
    let closing: Promise<void> | undefined;
    const t: FeedTailer = new FeedTailer(writer.kv, () => {
      handed++;
      closing ??= t.close();
    }, opts);
    await t.start(new Map()); // no positions: every writer's whole log is new
    await t.poll();
    await closing;
    assertEquals(handed, 1, "close() let the replay run on");
  });
});

Deno.test("feed: after close() a tailer holds nothing that keeps the process alive", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nexus-feed-" });
  const script = `${dir}/tail.ts`;
  await Deno.writeTextFile(
    script,
    `import { FeedTailer } from ${JSON.stringify(new URL("./feed.ts", import.meta.url).href)};
const kv = await Deno.openKv(${JSON.stringify(`${dir}/f.sqlite`)});
const t = new FeedTailer(kv, () => {}, { pollMs: 50 });
await t.start();
await new Promise((r) => setTimeout(r, 100));
await t.close(); // the KV stays open: only the tailer is stopped
`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", new URL("../deno.json", import.meta.url).pathname, script],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  try {
    const status = await child.status;
    assertEquals(status.code, 0, "the process did not exit on its own after close()");
  } finally {
    clearTimeout(timer);
    await Deno.remove(dir, { recursive: true });
  }
});
