/** End-to-end: the example agents trade a job over a relay that requires NIP-42 AUTH. */
import { assert, assertEquals } from "@std/assert";
import { runCustomer } from "../agents/customer.ts";
import { runProvider } from "../agents/provider.ts";
import { Agent, Client, startRelay } from "./helpers.ts";

Deno.test("commerce: the example provider and customer agents complete a job", async () => {
  const r = await startRelay({ NEXUS_AUTH: "required" });
  const provider = await runProvider(r.url);
  try {
    const o = await runCustomer(r.url, "Agents trade compute", { timeoutMs: 5000 });
    assertEquals(o.provider, provider.pubkey);
    assertEquals(o.result.content, "AGENTS TRADE COMPUTE");
    assertEquals(o.result.kind, 6050);
    assert(o.result.tags.some((t) => t[0] === "e" && t[1] === o.job.id));
    assert(o.result.tags.some((t) => t[0] === "p" && t[1] === o.job.pubkey));
    assertEquals(o.feedback, ["processing"]);
    assert(o.roundTripMs >= 0);

    const job = r.nexus.board.job(o.job.id);
    assertEquals(job?.state, "success");
    assertEquals(job?.providers.map((p) => p.pubkey), [provider.pubkey]);
    const info = await (await fetch(r.http, { headers: { accept: "application/nostr+json" } }))
      .json();
    assert(info.supported_nips.includes(89) && info.supported_nips.includes(90));
    assertEquals(info.nexus.retention, { job_kinds: [5000, 7000], job_ttl_seconds: 86400 });
    assert(info.description.includes("86400 seconds"));
  } finally {
    await provider.stop();
    await r.close();
  }
});

Deno.test("commerce: the example customer gets past a newer handler whose agent is gone", async () => {
  const r = await startRelay({ NEXUS_AUTH: "required" });
  const provider = await runProvider(r.url);
  const c = await Client.connect(r.url);
  try {
    // A handler announced later by an agent that no longer runs (or squats on the kind).
    const stale = new Agent();
    await c.auth(stale);
    const handler = stale.sign({
      kind: 31990,
      created_at: Math.floor(Date.now() / 1000) + 60,
      tags: [["d", "gone"], ["k", "5050"]],
      content: JSON.stringify({ name: "gone" }),
    });
    assertEquals((await c.publish(handler))[2], true);
    const o = await runCustomer(r.url, "still served", { timeoutMs: 5000 });
    assertEquals([o.provider, o.result.content], [provider.pubkey, "STILL SERVED"]);
    const named = o.job.tags.filter((t) => t[0] === "p").map((t) => t[1]);
    assertEquals(named.sort(), [provider.pubkey, stale.pubkey].sort());
  } finally {
    await c.close();
    await provider.stop();
    await r.close();
  }
});
