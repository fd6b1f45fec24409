/** End-to-end: NIP-90 job routing, NIP-89 discovery and encrypted jobs over real WebSockets. */
import { assert, assertEquals } from "@std/assert";
import { P } from "../kv/keys.ts";
import { planFilter } from "../kv/kv_query.ts";
import type { NostrEvent } from "../nostr/types.ts";
import { Agent, Client, startRelay } from "./helpers.ts";

// Field by field: the relay may order JSON keys differently, never change a value.
const fields = (e: NostrEvent) => [e.id, e.pubkey, e.created_at, e.kind, e.tags, e.content, e.sig];
const ids = (evs: { id: string }[]) => evs.map((e) => e.id).sort();

Deno.test("commerce: a job round trip reaches the provider live and the customer by #e and #p", async () => {
  const r = await startRelay();
  const customer = new Agent();
  const provider = new Agent();
  const pc = await Client.connect(r.url);
  const cc = await Client.connect(r.url);
  try {
    await pc.req("jobs", { kinds: [5050] });
    await cc.req("mine", { kinds: [6050, 7000], "#p": [customer.pubkey] });
    const job = customer.sign({ kind: 5050, tags: [["i", "hello", "text"]] });
    await cc.req("job", { kinds: [6050, 7000], "#e": [job.id] });
    assertEquals((await cc.publish(job))[2], true);

    const got = await pc.nextEvent("jobs");
    assertEquals(got.id, job.id);
    const tags = [["e", got.id], ["p", got.pubkey]];
    const fb = provider.sign({ kind: 7000, tags: [["status", "processing"], ...tags] });
    const res = provider.sign({
      kind: 6050,
      tags: [...tags, ["i", "hello", "text"]],
      content: "HELLO",
    });
    assertEquals((await pc.publish(fb))[2], true);
    assertEquals((await pc.publish(res))[2], true);

    for (const sub of ["job", "mine"]) {
      assertEquals((await cc.nextEvent(sub)).id, fb.id);
      assertEquals((await cc.nextEvent(sub)).id, res.id);
    }
    // Stored too: a customer that reconnects finds both by job id.
    const { events } = await cc.req("again", { "#e": [job.id] });
    assertEquals(ids(events), ids([fb, res]));

    const board = await (await fetch(`${r.http}/api/jobs?kind=5050`)).json();
    assertEquals(board.jobs.length, 1);
    assertEquals(board.jobs[0].state, "success");
    assertEquals(board.jobs[0].customer, customer.pubkey);
    assertEquals(board.jobs[0].providers[0].pubkey, provider.pubkey);
    assert(board.jobs[0].time_to_first_result_ms >= board.jobs[0].time_to_first_feedback_ms);
  } finally {
    await pc.close();
    await cc.close();
    await r.close();
  }
});

Deno.test("commerce: handler discovery by #k matches, misses and follows 31990 replacement", async () => {
  const r = await startRelay();
  const c = await Client.connect(r.url);
  const a = new Agent();
  const b = new Agent();
  try {
    const t = Math.floor(Date.now() / 1000);
    const v1 = a.sign({ kind: 31990, created_at: t - 10, tags: [["d", "x"], ["k", "5050"]] });
    const other = b.sign({ kind: 31990, tags: [["d", "y"], ["k", "5100"]] });
    assertEquals((await c.publish(v1))[2], true);
    assertEquals((await c.publish(other))[2], true);

    assertEquals(ids((await c.req("k1", { kinds: [31990], "#k": ["5050"] })).events), [v1.id]);
    assertEquals((await c.req("k2", { kinds: [31990], "#k": ["5999"] })).events, []);

    // Same author and d, newer: replaces v1 and now announces 5001 instead of 5050.
    const v2 = a.sign({ kind: 31990, tags: [["d", "x"], ["k", "5001"]], content: '{"name":"A2"}' });
    assertEquals((await c.publish(v2))[2], true);
    assertEquals((await c.req("k3", { kinds: [31990], "#k": ["5050"] })).events, []);
    assertEquals(ids((await c.req("k4", { kinds: [31990], "#k": ["5001"] })).events), [v2.id]);
    assertEquals(ids((await c.req("k5", { kinds: [31990], authors: [a.pubkey] })).events), [v2.id]);

    const p = await (await fetch(`${r.http}/api/providers/${a.pubkey}`)).json();
    assertEquals(p.kinds, [5001]);
    assertEquals(p.name, "A2");
    assertEquals(p.handlers.map((h: { id: string }) => h.id), [v2.id]);
    const byKind = await (await fetch(`${r.http}/api/providers?kind=5100`)).json();
    assertEquals(byKind.providers.map((x: { pubkey: string }) => x.pubkey), [b.pubkey]);
  } finally {
    await c.close();
    await r.close();
  }
});

Deno.test("commerce: #k discovery and label queries are index scans, not post-filters", () => {
  assertEquals(planFilter({ kinds: [31990], "#k": ["5050"] }), [[P.tag, "k", "5050"]]);
  const pk = "ab".repeat(32);
  const plan = planFilter({ kinds: [1985], "#L": ["ns"], "#p": [pk] });
  assertEquals(plan.length, 1);
  assertEquals(plan[0]![0], P.tag);
  assert(plan[0]![1] === "L" || plan[0]![1] === "p");
  assertEquals(planFilter({ kinds: [1985], "#l": ["good"] }), [[P.tag, "l", "good"]]);
});

Deno.test("commerce: an encrypted job is stored and routed untouched", async () => {
  const r = await startRelay();
  const customer = new Agent();
  const provider = new Agent();
  const pc = await Client.connect(r.url);
  const cc = await Client.connect(r.url);
  try {
    await pc.req("to-me", { kinds: [5050], "#p": [provider.pubkey] });
    const job = customer.sign({
      kind: 5050,
      tags: [["p", provider.pubkey], ["encrypted"]],
      content: "AbC+/=?iv=ZZZ opaque ciphertext \u00e9",
    });
    assertEquals((await cc.publish(job))[2], true);
    const live = await pc.nextEvent("to-me");
    assertEquals(fields(live), fields(job));
    const stored = (await cc.req("s", { ids: [job.id] })).events[0]!;
    assertEquals(fields(stored), fields(job));
    const j = await (await fetch(`${r.http}/api/jobs/${job.id}`)).json();
    assertEquals([j.encrypted, j.state, j.targets], [true, "requested", [provider.pubkey]]);
  } finally {
    await pc.close();
    await cc.close();
    await r.close();
  }
});
