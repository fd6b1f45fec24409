/**
 * @module Example customer agent: discovers kind 5050 providers by their NIP-89 `k` tag, submits a
 * job addressed to them and takes the first result, measuring the round trip. A handler stays
 * announced after its agent stops, so the job names every provider found, not just the newest.
 */
import { generateSecretKey, type VerifiedEvent } from "nostr-tools";
import { connectAgent, relayUrlFromArgs } from "./connect.ts";
import { TEXT_JOB } from "./provider.ts";

/** Providers one job names: enough to get past stale handlers, few enough to stay a short tag list. */
const MAX_PROVIDERS = 20;

/** What one job round trip produced. */
export interface Outcome {
  provider: string;
  providerName?: string;
  job: VerifiedEvent;
  result: VerifiedEvent;
  feedback: string[];
  roundTripMs: number;
}

/** Discover a provider, submit one text job and resolve with its result. */
export async function runCustomer(
  url: string,
  input: string,
  opts: { sk?: Uint8Array; timeoutMs?: number } = {},
): Promise<Outcome> {
  const agent = await connectAgent(url, opts.sk ?? generateSecretKey());
  try {
    const handlers = await agent.fetch({ kinds: [31990], "#k": [String(TEXT_JOB)] });
    // Newest first, one per provider, at most MAX_PROVIDERS of them.
    const byProvider = new Map<string, (typeof handlers)[number]>();
    for (const h of handlers.sort((a, b) => b.created_at - a.created_at)) {
      if (byProvider.size < MAX_PROVIDERS && !byProvider.has(h.pubkey)) byProvider.set(h.pubkey, h);
    }
    if (byProvider.size === 0) throw new Error(`no provider announces kind ${TEXT_JOB}`);
    const job = agent.sign({
      kind: TEXT_JOB,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ["i", input, "text"],
        ...[...byProvider.keys()].map((pk) => ["p", pk]),
        ["output", "text/plain"],
      ],
      content: "",
    });
    const feedback: string[] = [];
    let started = 0;
    const result = await new Promise<VerifiedEvent>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("no result before the timeout")),
        opts.timeoutMs ?? 10_000,
      );
      // Subscribe by job id before publishing, so no answer can slip past.
      agent.relay.subscribe([{ kinds: [TEXT_JOB + 1000, 7000], "#e": [job.id] }], {
        onevent: (ev) => {
          // Only the providers the job names count (NIP-90 lets others answer anyway).
          if (!byProvider.has(ev.pubkey)) return;
          if (ev.kind === 7000) {
            feedback.push(ev.tags.find((t) => t[0] === "status")?.[1] ?? "");
            return;
          }
          clearTimeout(timer);
          resolve(ev as VerifiedEvent);
        },
        oneose: () => {
          started = performance.now();
          agent.relay.publish(job).catch((err) => {
            clearTimeout(timer);
            reject(err);
          });
        },
      });
    });
    let providerName: string | undefined;
    try {
      providerName = JSON.parse(byProvider.get(result.pubkey)!.content).name;
    } catch { /* content metadata is optional (NIP-89) */ }
    const outcome: Outcome = {
      provider: result.pubkey,
      job,
      result,
      feedback,
      roundTripMs: performance.now() - started,
    };
    if (providerName) outcome.providerName = providerName;
    return outcome;
  } finally {
    agent.close();
  }
}

if (import.meta.main) {
  const url = relayUrlFromArgs(Deno.args);
  const o = await runCustomer(url, Deno.args[1] ?? "hello from a customer agent");
  console.log(`result: ${o.result.content} (${o.roundTripMs.toFixed(1)} ms round trip)`);
}
