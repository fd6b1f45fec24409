/** @module Connecting an agent to a relay with nostr-tools and authenticating with NIP-42. */
import { type EventTemplate, finalizeEvent, type VerifiedEvent } from "nostr-tools";
import { Relay } from "nostr-tools/relay";
import type { Filter } from "nostr-tools/filter";

/** A relay connection that has completed NIP-42 AUTH. */
export interface AgentRelay {
  relay: Relay;
  /** Sign an event template with the agent's key. */
  sign(t: EventTemplate): VerifiedEvent;
  /** Stored events matching a filter, up to EOSE. */
  fetch(filter: Filter): Promise<VerifiedEvent[]>;
  close(): void;
}

/** The relay URL from the first argument, else NEXUS_AGENTS_RELAY, else the local relay. */
export function relayUrlFromArgs(args: string[]): string {
  return args[0] ?? Deno.env.get("NEXUS_AGENTS_RELAY") ?? "ws://localhost:8000";
}

/** Connect and authenticate; resolves once the relay accepted the AUTH event. */
export async function connectAgent(
  url: string,
  sk: Uint8Array,
  timeoutMs = 5000,
): Promise<AgentRelay> {
  const relay = new Relay(url);
  const sign = (t: EventTemplate) => finalizeEvent(t, sk);
  // nostr-tools answers the relay's challenge by itself through onauth; we only learn that it
  // started, then ask for the same auth promise, which settles on the relay's OK.
  let challenged!: () => void;
  const started = new Promise<void>((res) => challenged = res);
  relay.onauth = (t) => {
    challenged();
    return Promise.resolve(sign(t));
  };
  await relay.connect({ timeout: timeoutMs });
  const timer = setTimeout(() => challenged(), timeoutMs);
  await started;
  clearTimeout(timer);
  await relay.auth((t) => Promise.resolve(sign(t)));
  return {
    relay,
    sign,
    fetch: (filter) =>
      new Promise((resolve) => {
        const got: VerifiedEvent[] = [];
        const sub = relay.subscribe([filter], {
          onevent: (ev) => got.push(ev as VerifiedEvent),
          oneose: () => {
            sub.close();
            resolve(got);
          },
          onclose: () => resolve(got),
        });
      }),
    close: () => relay.close(),
  };
}
