/** End-to-end: the example agents trade a job over a relay that requires NIP-42 AUTH. */
import { assert, assertEquals } from "@std/assert";
import { runCustomer } from "../agents/customer.ts";
import { runProvider } from "../agents/provider.ts";
import { startRelay } from "./helpers.ts";

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
