/**
 * The job board fed directly, in the orders a relay with several isolates or a restart can deliver
 * events, by strangers who want to distort it. Events are really signed; the store behind the
 * board is the in-memory one (the board only reads it when it rebuilds).
 */
import { assertEquals } from "@std/assert";
import { JobBoard } from "../commerce/job_board.ts";
import { Reputation } from "../commerce/reputation.ts";
import { MemoryStore } from "../kv/memory_store.ts";
import type { NostrEvent } from "../nostr/types.ts";
import { Agent, now } from "./helpers.ts";

const customer = new Agent();
const provider = new Agent();
const stranger = new Agent();
const board = (maxJobs?: number) =>
  new JobBoard({ store: new MemoryStore(), ttlSeconds: 86400, maxJobs });
// Each request its own input, so two signed in one second are two jobs.
const job = () => customer.sign({ kind: 5050, tags: [["i", crypto.randomUUID(), "text"]] });
const randomId = () => crypto.getRandomValues(new Uint8Array(32)).toHex();

Deno.test("board: the author's deletion seen before its request cancels it, k tag or not", () => {
  const b = board();
  const req = job();
  // Another isolate stored the request; its deletion (without NIP-09's k tag) arrives here first.
  b.ingest(customer.sign({ kind: 5, tags: [["e", req.id]] }), Date.now());
  b.ingest(req, Date.now());
  assertEquals(b.job(req.id)?.state, "cancelled");
});

Deno.test("board: deletions naming no event id, or made by strangers, list nothing", () => {
  const b = board();
  b.ingest(stranger.sign({ kind: 5, tags: [["e", "not-an-id"], ["e", "x"], ["k", "5050"]] }));
  assertEquals(b.jobs().jobs, []);
  assertEquals(b.summary().jobs.cancelled, 0);
  // After a restart the author's k-tagged deletion is all that is left of a job; a stranger's
  // later deletion of the same id does not rewrite whose job it was.
  const gone = randomId();
  b.ingest(customer.sign({ kind: 5, tags: [["e", gone], ["k", "5050"]] }));
  b.ingest(stranger.sign({ kind: 5, tags: [["e", gone], ["k", "5999"]] }));
  const shown = b.job(gone)!;
  assertEquals([shown.state, shown.customer, shown.kind], ["cancelled", customer.pubkey, 5050]);
});

Deno.test("board: a flood of answers to unknown ids pushes out neither jobs nor cancellations", () => {
  const b = board(5);
  const req = job();
  b.ingest(req, Date.now());
  const gone = randomId();
  b.ingest(customer.sign({ kind: 5, tags: [["e", gone], ["k", "5050"]] }));
  for (let i = 0; i < 20; i++) {
    b.ingest(stranger.sign({ kind: 6050, tags: [["e", randomId()], ["p", stranger.pubkey]] }));
  }
  assertEquals(b.jobs().jobs.map((j) => j.id).sort(), [req.id, gone].sort());
});

Deno.test("board: one stranger's early answers cannot crowd out the provider's", () => {
  const b = board();
  const req = job();
  for (let i = 0; i < 64; i++) {
    b.ingest(
      stranger.sign({ kind: 7000, tags: [["e", req.id], ["status", "error"]], content: `${i}` }),
      Date.now(),
    );
  }
  b.ingest(provider.sign({ kind: 6050, tags: [["e", req.id], ["p", customer.pubkey]] }));
  b.ingest(req, Date.now());
  const shown = b.job(req.id)!;
  assertEquals(shown.state, "success");
  assertEquals(shown.providers.find((p) => p.pubkey === provider.pubkey)?.results, 1);
});

Deno.test("board: a result its provider deletes is taken back; a stranger's deletion is not", () => {
  const b = board();
  const req = job();
  b.ingest(req, Date.now());
  const answer = (kind: number, status?: string) =>
    provider.sign({
      kind,
      tags: [...(status ? [["status", status]] : []), ["e", req.id], ["p", customer.pubkey]],
    });
  b.ingest(answer(7000, "processing"), Date.now());
  const result = answer(6050);
  b.ingest(result, Date.now());
  assertEquals(b.job(req.id)?.state, "success");
  b.ingest(stranger.sign({ kind: 5, tags: [["e", result.id], ["k", "6050"]] }));
  assertEquals(b.job(req.id)?.state, "success");
  b.ingest(provider.sign({ kind: 5, tags: [["e", result.id], ["k", "6050"]] }));
  const shown = b.job(req.id)!;
  assertEquals([shown.state, shown.providers[0]?.results], ["processing", 0]);
  assertEquals(b.provider(provider.pubkey).stats.results, 0);
});

/** A fresh board rebuilt from a store fed `events` in order, as at startup. */
async function rebuilt(events: NostrEvent[]): Promise<JobBoard> {
  const store = new MemoryStore();
  for (const ev of events) await store.event(ev);
  const b = new JobBoard({ store, ttlSeconds: 86400 });
  await b.rebuild();
  return b;
}

const answerTo = (by: Agent, req: NostrEvent, kind: number, status?: string, content = "") =>
  by.sign({
    kind,
    content,
    tags: [...(status ? [["status", status]] : []), ["e", req.id], ["p", customer.pubkey]],
  });

const shown = (b: JobBoard, id: string) => {
  const j = b.job(id);
  // Providers in pubkey order: a rebuild meets answers of one second in another order.
  const providers = j?.providers.map((p) => [p.pubkey, p.results, p.feedback]).sort();
  return j && { state: j.state, providers };
};

Deno.test("board: a deletion that reaches an isolate before its answer still wins, as in the store", async () => {
  const req = job();
  const fb = answerTo(provider, req, 7000, "processing");
  const result = answerTo(provider, req, 6050);
  const del = provider.sign({ kind: 5, tags: [["e", result.id], ["k", "6050"]] });
  const live = board();
  // Another isolate stored the result; the provider's deletion came here first, its batch later.
  for (const ev of [req, fb, del, result]) live.ingest(ev, Date.now());
  assertEquals(shown(live, req.id), shown(await rebuilt([req, fb, result, del]), req.id));
  assertEquals(live.job(req.id)?.state, "processing");
});

Deno.test("board: a stranger's flood of answers does not stop a provider's deletion being followed", async () => {
  const req = job();
  const junk = Array.from(
    { length: 300 },
    (_, i) => answerTo(stranger, req, 7000, "error", `${i}`),
  );
  const fb = answerTo(provider, req, 7000, "processing");
  const result = answerTo(provider, req, 6050);
  const del = provider.sign({ kind: 5, tags: [["e", result.id], ["k", "6050"]] });
  const live = board();
  for (const ev of [req, fb, ...junk, result, del]) live.ingest(ev, Date.now());
  assertEquals(shown(live, req.id), shown(await rebuilt([req, fb, ...junk, result, del]), req.id));
});

Deno.test("board: the author's deletion cancels its request whatever its k tags say", () => {
  const req = job();
  // The store deletes by id whatever the k tags name; the board must agree.
  const live = board();
  live.ingest(customer.sign({ kind: 5, tags: [["e", req.id], ["k", "1"]] }), Date.now());
  live.ingest(req, Date.now());
  assertEquals(live.job(req.id)?.state, "cancelled");
});

Deno.test("board: replaying after a deletion keeps the other answers' times and order", () => {
  const b = board();
  const req = job();
  const [f1, f2] = [
    answerTo(provider, req, 7000, "processing", "a"),
    answerTo(provider, req, 7000, "processing", "b"),
  ];
  const r = answerTo(provider, req, 6050);
  b.ingest(req, 1_000_000);
  b.ingest(f1, 1_000_100);
  b.ingest(answerTo(stranger, req, 7000, "error"), 1_000_150);
  b.ingest(f2, 1_000_200);
  b.ingest(r, 1_000_300);
  b.ingest(provider.sign({ kind: 5, tags: [["e", f1.id]] }), 1_000_400);
  const v = b.job(req.id)!;
  assertEquals([v.time_to_first_feedback_ms, v.time_to_first_result_ms, v.state], [
    150,
    300,
    "success",
  ]);
  assertEquals(v.providers.map((p) => p.pubkey), [provider.pubkey, stranger.pubkey]);
  assertEquals(v.providers[0]!.time_to_first_feedback_ms, 200);
});

Deno.test("board: statuses NIP-90 does not define are feedback only, even Object's own names", () => {
  const b = board();
  const req = job();
  b.ingest(req, Date.now());
  b.ingest(answerTo(stranger, req, 7000, "constructor"), Date.now());
  b.ingest(answerTo(stranger, req, 7000, "toString"), Date.now());
  assertEquals(b.job(req.id)?.state, "requested");
  b.ingest(answerTo(provider, req, 6050), Date.now());
  assertEquals(b.job(req.id)?.state, "success");
  assertEquals(b.summary().jobs.completed, 1);
});

Deno.test("board: after a restart, a cancelled job its result quoted comes back whole", async () => {
  const req = job();
  const result = provider.sign({
    kind: 6050,
    tags: [["request", JSON.stringify(req)], ["e", req.id], ["p", customer.pubkey]],
  });
  // A stranger's earlier deletion must not make the stranger the job's customer after a restart.
  const strangers = stranger.sign({
    kind: 5,
    tags: [["e", req.id], ["k", "5050"]],
    created_at: req.created_at - 1,
  });
  const cancel = customer.sign({ kind: 5, tags: [["e", req.id], ["k", "5050"]] });
  const events = [req, result, strangers, cancel];
  const live = board();
  for (const ev of events) live.ingest(ev, Date.now());
  const after = await rebuilt(events);
  for (const b of [live, after]) {
    const v = b.job(req.id)!;
    assertEquals([v.state, v.customer, v.request_seen], ["cancelled", customer.pubkey, true]);
    assertEquals(v.providers.map((p) => [p.pubkey, p.results]), [[provider.pubkey, 1]]);
    assertEquals(b.provider(provider.pubkey).stats.jobs, 1);
    assertEquals(b.summary().jobs.cancelled, 1);
  }
});

Deno.test("board: a result quoting a request that does not hash to the job id restores nothing", async () => {
  const req = job();
  // The stranger claims the job was theirs: same id, their pubkey; the hash gives them away.
  const forged = { ...req, pubkey: stranger.pubkey };
  const result = stranger.sign({
    kind: 6050,
    tags: [["request", JSON.stringify(forged)], ["e", req.id], ["p", stranger.pubkey]],
  });
  const after = await rebuilt([
    req,
    result,
    stranger.sign({ kind: 5, tags: [["e", req.id], ["k", "5050"]] }),
    customer.sign({ kind: 5, tags: [["e", req.id], ["k", "5050"]], created_at: now() + 1 }),
  ]);
  const v = after.job(req.id)!;
  // Only the k-tag trace is left (its first deleter shown), and no answer counts for anyone.
  assertEquals([v.state, v.request_seen, v.providers], ["cancelled", false, []]);
  assertEquals(after.provider(stranger.pubkey).stats.jobs, 0);
});

Deno.test("board: a cancelled job is neither won nor lost for its providers", () => {
  const b = board();
  const [won, lost, c1, c2, c3] = [job(), job(), job(), job(), job()];
  for (const r of [won, lost, c1, c2, c3]) b.ingest(r, Date.now());
  b.ingest(answerTo(provider, won, 6050), Date.now());
  b.ingest(answerTo(provider, lost, 7000, "error"), Date.now());
  b.ingest(answerTo(provider, c1, 6050), Date.now());
  b.ingest(answerTo(provider, c2, 7000, "error"), Date.now());
  b.ingest(answerTo(provider, c3, 7000, "error"), Date.now());
  b.ingest(
    customer.sign({ kind: 5, tags: [["e", c1.id], ["e", c2.id], ["e", c3.id]] }),
    Date.now(),
  );
  // One won and one lost: 0.5. Cancelled wins counted would make it 2/3, cancelled losses 1/4.
  const s = b.provider(provider.pubkey).stats;
  assertEquals([s.jobs, s.results, s.success_rate], [5, 2, 0.5]);
  assertEquals(b.summary().providers[0]?.success_rate, 0.5);
});

Deno.test("reputation: a label repeated in one event counts once", () => {
  const rep = new Reputation();
  const l = ["l", "great", "com.example.quality"];
  rep.add(stranger.sign({ kind: 1985, tags: [l, l, l, ["p", provider.pubkey]] }));
  rep.add(customer.sign({ kind: 1985, tags: [l, ["p", provider.pubkey]] }));
  assertEquals(rep.of(provider.pubkey), { "com.example.quality": { great: 2 } });
});
