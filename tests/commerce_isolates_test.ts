/** The job board across isolates (refresh from the shared KV) and its memory bound. */
import { assertEquals } from "@std/assert";
import { JobBoard } from "../commerce/job_board.ts";
import { MemoryStore } from "../kv/memory_store.ts";
import { Agent, Client, startRelay } from "./helpers.ts";

Deno.test("commerce: a second isolate on the same KV sees the same board after a refresh", async () => {
  const a = await startRelay();
  const b = await startRelay({ NEXUS_KV_PATH: a.kvPath });
  const c = await Client.connect(a.url);
  const customer = new Agent();
  const provider = new Agent();
  try {
    await b.nexus.board.ready;
    const job = customer.sign({ kind: 5050, tags: [["i", "x", "text"]] });
    const res = provider.sign({ kind: 6050, tags: [["e", job.id], ["p", customer.pubkey]] });
    for (const ev of [job, res]) assertEquals((await c.publish(ev))[2], true);
    assertEquals(a.nexus.board.job(job.id)?.state, "success");
    // Written through isolate a only: b learns of it from the store.
    await b.nexus.board.refresh();
    assertEquals(b.nexus.board.job(job.id)?.state, "success");
    assertEquals(b.nexus.board.summary().jobs, a.nexus.board.summary().jobs);
    // A refresh is idempotent: nothing is counted twice.
    await b.nexus.board.refresh();
    assertEquals(b.nexus.board.provider(provider.pubkey).stats.results, 1);
  } finally {
    await c.close();
    await b.close();
    await a.close();
  }
});

Deno.test("commerce: the board keeps at most maxJobs jobs, evicting the oldest", async () => {
  const store = new MemoryStore();
  const customer = new Agent();
  const t = Math.floor(Date.now() / 1000);
  const jobs = [0, 1, 2, 3, 4].map((i) =>
    customer.sign({ kind: 5050, created_at: t - 10 + i, tags: [["i", `${i}`, "text"]] })
  );
  for (const ev of jobs) await store.event(ev);
  const board = new JobBoard({ store, ttlSeconds: 3600, maxJobs: 3 });
  await board.start();
  assertEquals(board.jobs().jobs.map((j) => j.id), jobs.slice(2).reverse().map((j) => j.id));
  const late = customer.sign({ kind: 5050, tags: [["i", "late", "text"]] });
  board.ingest(late, Date.now());
  assertEquals(board.jobs().jobs.length, 3);
  assertEquals(board.job(jobs[2]!.id), undefined);
  await board.close();
  await store.close();
});
