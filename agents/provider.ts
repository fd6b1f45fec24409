/**
 * @module Example provider agent: announces a NIP-89 handler for kind 5050 text jobs and answers
 * each job with `processing` feedback, then a kind 6050 result: the input text upper-cased.
 */
import { generateSecretKey, getPublicKey, type VerifiedEvent } from "nostr-tools";
import { connectAgent, relayUrlFromArgs } from "./connect.ts";

/** The job kind this agent serves and the result kind it answers with. */
export const TEXT_JOB = 5050;

/** A running provider. */
export interface Provider {
  pubkey: string;
  /** The handler announcement it published. */
  handler: VerifiedEvent;
  /** Ids of jobs answered so far. */
  served: string[];
  /** Stop taking jobs, finish the ones in flight, then disconnect. */
  stop(): Promise<void>;
}

/** The deterministic "model": a job's text input, upper-cased. */
export function transform(input: string): string {
  return input.toUpperCase();
}

/** Announce the handler and start answering jobs. */
export async function runProvider(
  url: string,
  opts: { sk?: Uint8Array; name?: string; log?: (line: string) => void } = {},
): Promise<Provider> {
  const sk = opts.sk ?? generateSecretKey();
  const pubkey = getPublicKey(sk);
  const log = opts.log ?? (() => {});
  const agent = await connectAgent(url, sk);
  const now = () => Math.floor(Date.now() / 1000);
  const handler = agent.sign({
    kind: 31990,
    created_at: now(),
    tags: [["d", "nexus-uppercase"], ["k", String(TEXT_JOB)]],
    content: JSON.stringify({
      name: opts.name ?? "Nexus example: uppercase",
      about: "Answers kind 5050 text jobs with the input upper-cased.",
    }),
  });
  await agent.relay.publish(handler);
  log(`provider ${pubkey.slice(0, 8)} announced kind ${TEXT_JOB}`);
  const served: string[] = [];
  const answer = async (job: VerifiedEvent) => {
    const targets = job.tags.filter((t) => t[0] === "p").map((t) => t[1]);
    // A job addressed to other providers is theirs.
    if (targets.length > 0 && !targets.includes(pubkey)) return;
    const base = [["e", job.id], ["p", job.pubkey]];
    if (job.tags.some((t) => t[0] === "encrypted")) {
      await agent.relay.publish(agent.sign({
        kind: 7000,
        created_at: now(),
        tags: [["status", "error", "encrypted jobs are not supported"], ...base],
        content: "",
      }));
      return;
    }
    await agent.relay.publish(agent.sign({
      kind: 7000,
      created_at: now(),
      tags: [["status", "processing"], ...base],
      content: "",
    }));
    const input = job.tags.find((t) => t[0] === "i")?.[1] ?? "";
    await agent.relay.publish(agent.sign({
      kind: TEXT_JOB + 1000,
      created_at: now(),
      tags: [["request", JSON.stringify(job)], ...base, ["i", input, "text"]],
      content: transform(input),
    }));
    served.push(job.id);
    log(`provider answered job ${job.id.slice(0, 8)}`);
  };
  const inFlight = new Set<Promise<void>>();
  const sub = agent.relay.subscribe([{ kinds: [TEXT_JOB], since: now() }], {
    onevent: (job) => {
      const p = answer(job as VerifiedEvent).catch((err) => log(`provider failed: ${err.message}`));
      inFlight.add(p);
      p.finally(() => inFlight.delete(p));
    },
  });
  return {
    pubkey,
    handler,
    served,
    async stop() {
      sub.close();
      await Promise.all(inFlight);
      agent.close();
    },
  };
}

if (import.meta.main) {
  const url = relayUrlFromArgs(Deno.args);
  const p = await runProvider(url, { log: console.log });
  console.log(`provider ${p.pubkey} serving kind ${TEXT_JOB} on ${url}; Ctrl-C to stop`);
}
