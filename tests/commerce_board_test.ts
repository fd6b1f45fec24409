/** End-to-end: the job board's states, its API, NIP-32 reputation, and rebuilding after a restart. */
import { assert, assertEquals } from "@std/assert";
import type { NostrEvent } from "../nostr/types.ts";
import { Agent, Client, startRelay, type TestRelay } from "./helpers.ts";

const get = async (r: TestRelay, path: string) => {
  const res = await fetch(`${r.http}${path}`);
  assertEquals(res.headers.get("access-control-allow-origin"), "*");
  return await res.json();
};

/** Publish jobs that end in every state an answer can give. */
async function market(c: Client, customer: Agent, provider: Agent, other: Agent) {
  const ok = async (ev: NostrEvent) => assertEquals((await c.publish(ev))[2], true, ev.kind + "");
  const job = (text: string) => customer.sign({ kind: 5050, tags: [["i", text, "text"]] });
  const answer = (by: Agent, j: NostrEvent, kind: number, status?: string) =>
    by.sign({
      kind,
      tags: [...(status ? [["status", status]] : []), ["e", j.id], ["p", j.pubkey]],
    });
  const jobs: Record<string, NostrEvent> = {};
  for (const s of ["requested", "payment-required", "processing", "partial", "error", "success"]) {
    await ok(jobs[s] = job(s));
  }
  await ok(answer(provider, jobs["payment-required"]!, 7000, "payment-required"));
  await ok(answer(provider, jobs.processing!, 7000, "processing"));
  await ok(answer(provider, jobs.partial!, 7000, "partial"));
  await ok(answer(provider, jobs.error!, 7000, "error"));
  await ok(answer(provider, jobs.success!, 7000, "processing"));
  await ok(answer(provider, jobs.success!, 6050));
  // One success beats another provider's error on the same job.
  await ok(answer(other, jobs.success!, 7000, "error"));
  // Cancelled by the customer (NIP-09, with the k tag NIP-09 recommends).
  await ok(jobs.cancelled = job("cancel me"));
  await ok(customer.sign({ kind: 5, tags: [["e", jobs.cancelled.id], ["k", "5050"]] }));
  // A deletion by someone else does not cancel anything.
  await ok(jobs.kept = job("keep me"));
  await ok(other.sign({ kind: 5, tags: [["e", jobs.kept.id], ["k", "5050"]] }));
  return jobs;
}

async function states(r: TestRelay): Promise<Record<string, string>> {
  const page = await get(r, "/api/jobs?limit=500");
  return Object.fromEntries(page.jobs.map((j: { id: string; state: string }) => [j.id, j.state]));
}

Deno.test("commerce: job board states, cancel, filters, pagination and restart", async () => {
  let r = await startRelay();
  const customer = new Agent();
  const provider = new Agent();
  const other = new Agent();
  const kvPath = r.kvPath;
  let c = await Client.connect(r.url);
  try {
    const jobs = await market(c, customer, provider, other);
    const expected: Record<string, string> = {};
    for (const [name, ev] of Object.entries(jobs)) {
      expected[ev.id] = name === "kept" ? "requested" : name;
    }
    assertEquals(await states(r), expected);
    // The cancelled request is gone from the store, as NIP-09 asks.
    assertEquals((await c.req("gone", { ids: [jobs.cancelled!.id] })).events, []);

    const ok = await get(r, `/api/jobs?state=success&provider=${provider.pubkey}`);
    assertEquals(ok.jobs.map((j: { id: string }) => j.id), [jobs.success!.id]);
    assertEquals(ok.jobs[0].providers.length, 2);
    assertEquals((await get(r, "/api/jobs?kind=5001")).jobs, []);

    // Pagination: pages of 3 cover every job exactly once, newest first.
    const seen: string[] = [];
    let cursor = "";
    for (let i = 0; i < 10; i++) {
      const page = await get(r, `/api/jobs?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.jobs.map((j: { id: string }) => j.id));
      if (!page.next_cursor) break;
      assert(page.jobs.length === 3);
      cursor = page.next_cursor;
    }
    assertEquals(seen.length, Object.keys(expected).length);
    assertEquals(new Set(seen).size, seen.length);
    assertEquals((await fetch(`${r.http}/api/jobs?state=bogus`)).status, 400);

    const p = await get(r, `/api/providers/${provider.pubkey}`);
    assertEquals(p.stats.jobs, 5);
    assertEquals(p.stats.results, 1);
    // Settled for this provider: success and error; payment-required/processing/partial are open.
    assertEquals(p.stats.success_rate, 0.5);
    const summary = r.nexus.board.summary();
    assertEquals(summary.jobs, { open: 5, completed: 1, failed: 1, expired: 0, cancelled: 1 });
    assertEquals(summary.by_kind.map((k) => [k.kind, k.jobs, k.results]), [[5050, 8, 1]]);

    // Restart on the same KV: the board is rebuilt from stored events alone.
    await c.close();
    await r.close();
    r = await startRelay({ NEXUS_KV_PATH: kvPath });
    await r.nexus.board.ready;
    c = await Client.connect(r.url);
    assertEquals(await states(r), expected);
    assertEquals(r.nexus.board.summary().jobs, summary.jobs);
  } finally {
    await c.close();
    await r.close();
  }
});

Deno.test("commerce: reputation from NIP-32 labels by #L, #l and #p", async () => {
  const r = await startRelay();
  const c = await Client.connect(r.url);
  const provider = new Agent();
  const rater = new Agent();
  const rater2 = new Agent();
  try {
    const label = (by: Agent, value: string, ns = "nexus.quality") =>
      by.sign({ kind: 1985, tags: [["L", ns], ["l", value, ns], ["p", provider.pubkey]] });
    const good = label(rater, "good");
    const good2 = label(rater2, "good");
    const bad = label(rater2, "slow", "nexus.speed");
    const self = label(provider, "excellent"); // a claim about oneself is not reputation
    for (const ev of [good, good2, bad, self]) assertEquals((await c.publish(ev))[2], true);

    const byL = await c.req("L", {
      kinds: [1985],
      "#L": ["nexus.quality"],
      "#p": [provider.pubkey],
    });
    assertEquals(byL.events.length, 3);
    const byl = await c.req("l", { kinds: [1985], "#l": ["slow"] });
    assertEquals(byl.events.map((e) => e.id), [bad.id]);
    assertEquals((await c.req("none", { kinds: [1985], "#L": ["other.ns"] })).events, []);

    const p = await (await fetch(`${r.http}/api/providers/${provider.pubkey}`)).json();
    assertEquals(p.reputation, { "nexus.quality": { good: 2 }, "nexus.speed": { slow: 1 } });
    assertEquals(p.stats.jobs, 0);

    // The labeller withdraws a label (NIP-09): the count follows.
    await c.publish(rater.sign({ kind: 5, tags: [["e", good.id], ["k", "1985"]] }));
    const after = await (await fetch(`${r.http}/api/providers/${provider.pubkey}`)).json();
    assertEquals(after.reputation["nexus.quality"], { good: 1 });
    assertEquals((await fetch(`${r.http}/api/providers/not-hex`)).status, 400);
    // Any bad provider or job path is a JSON 4xx, never plain text or a crash.
    for (
      const path of [
        "providers/a/b",
        "providers/",
        "providers/%2e%2e%2fx",
        "jobs/x/y",
        "jobs/",
        "nope",
      ]
    ) {
      const res = await fetch(`${r.http}/api/${path}`);
      assert(res.status >= 400 && res.status < 500, `${path}: ${res.status}`);
      assertEquals(res.headers.get("content-type")?.split(";")[0], "application/json", path);
      assert(typeof (await res.json()).error === "string", path);
    }
  } finally {
    await c.close();
    await r.close();
  }
});

Deno.test("commerce: answers to unseen or mismatched requests and strangers' deletions count for nothing", async () => {
  const r = await startRelay();
  const c = await Client.connect(r.url);
  const customer = new Agent();
  const faker = new Agent();
  const provider = new Agent();
  const ok = async (ev: NostrEvent) => assertEquals((await c.publish(ev))[2], true, ev.kind + "");
  const answer = (by: Agent, id: string, kind: number, p: string, status?: string) =>
    by.sign({ kind, tags: [...(status ? [["status", status]] : []), ["e", id], ["p", p]] });
  try {
    // Results and feedback naming requests nobody published: no jobs, no provider stats.
    for (let i = 0; i < 5; i++) {
      const fakeId = crypto.randomUUID().replaceAll("-", "").padEnd(64, "0");
      await ok(answer(faker, fakeId, 7000, faker.pubkey, "success"));
      await ok(answer(faker, fakeId, 6050, faker.pubkey));
    }
    const note = customer.sign({ kind: 1, content: "not a job" });
    await ok(note);
    await ok(answer(faker, note.id, 7000, customer.pubkey, "success"));
    assertEquals((await get(r, "/api/jobs")).jobs, []);
    assertEquals((await get(r, `/api/providers/${faker.pubkey}`)).stats.jobs, 0);
    assertEquals(r.nexus.board.summary().providers, []);
    assertEquals(r.nexus.board.summary().jobs.completed, 0);

    // A stranger's deletion (with a k tag) and an answer that arrive before the request: the
    // request is stored, so the job is not cancelled, and the early answer counts once it lands.
    const job = customer.sign({ kind: 5050, tags: [["i", "early", "text"]] });
    await ok(faker.sign({ kind: 5, tags: [["e", job.id], ["k", "5050"]] }));
    await ok(answer(provider, job.id, 7000, customer.pubkey, "processing"));
    await ok(job);
    assertEquals((await get(r, `/api/jobs/${job.id}`)).state, "processing");
    // A result of the wrong kind (NIP-90: request kind + 1000) does not finish the job.
    await ok(answer(faker, job.id, 6001, customer.pubkey));
    assertEquals((await get(r, `/api/jobs/${job.id}`)).state, "processing");
    assertEquals((await get(r, `/api/providers/${faker.pubkey}`)).stats.results, 0);
    await ok(answer(provider, job.id, 6050, customer.pubkey));
    const done = await get(r, `/api/jobs/${job.id}`);
    assertEquals([done.state, done.request_seen, done.providers.length], ["success", true, 1]);
    assertEquals(r.nexus.board.summary().jobs, {
      open: 0,
      completed: 1,
      failed: 0,
      expired: 0,
      cancelled: 0,
    });
  } finally {
    await c.close();
    await r.close();
  }
});

Deno.test("commerce API: writes are refused with 405, and a fault of ours is a 500, not a 400", async () => {
  const r = await startRelay();
  try {
    const paths = ["/api/jobs", `/api/jobs/${"a".repeat(64)}`, "/api/providers", "/api/stats"];
    for (const path of paths) {
      for (const method of ["POST", "DELETE", "QUERY"]) {
        const res = await fetch(`${r.http}${path}`, {
          method,
          body: method === "DELETE" ? null : "{}",
        });
        assertEquals(res.status, 405, `${method} ${path}`);
        assertEquals(res.headers.get("allow"), "GET, HEAD, OPTIONS", path);
        // Readable from a page on another origin, as every API answer is.
        assertEquals(res.headers.get("access-control-allow-origin"), "*", `${method} ${path}`);
        assert(typeof (await res.json()).error === "string");
      }
    }
    const metrics = await fetch(`${r.http}/metrics`, { method: "POST" });
    await metrics.body?.cancel();
    assertEquals(metrics.status, 405);
    const bad = await fetch(`${r.http}/api/jobs?kind=x`);
    assertEquals([bad.status, (await bad.json()).error], [
      400,
      "kind must be an integer from 0 to 65535",
    ]);
    // A board that fails underneath: the client is told it is the server's fault.
    const board = r.nexus.board as unknown as { jobs: () => never };
    board.jobs = () => {
      throw new Error("disk on fire");
    };
    const broken = await fetch(`${r.http}/api/jobs`);
    assertEquals([broken.status, await broken.json()], [500, { error: "internal error" }]);
  } finally {
    await r.close();
  }
});
