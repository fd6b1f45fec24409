/**
 * @module `deno task agents [relay-url] [input]`: a provider and a customer agent trading one text
 * job over a relay (default ws://localhost:8000), printing the result and its round-trip time.
 */
import { runCustomer } from "./customer.ts";
import { relayUrlFromArgs } from "./connect.ts";
import { runProvider } from "./provider.ts";

const url = relayUrlFromArgs(Deno.args);
const input = Deno.args[1] ?? "hello from a customer agent";
const provider = await runProvider(url, { log: console.log });
try {
  const o = await runCustomer(url, input);
  console.log(`customer found ${o.providerName ?? o.provider.slice(0, 8)} by #k`);
  console.log(`customer job ${o.job.id.slice(0, 8)}: "${input}"`);
  console.log(`feedback: ${o.feedback.join(", ") || "(none)"}`);
  console.log(`result: "${o.result.content}" in ${o.roundTripMs.toFixed(1)} ms round trip`);
} finally {
  await provider.stop();
}
