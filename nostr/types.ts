/** @module Core Nostr types shared by the relay, the stores and the HUD. */

/** A signed Nostr event as defined by NIP-01. */
export interface NostrEvent {
  id: string;
  pubkey: string;
  created_at: number;
  kind: number;
  tags: string[][];
  content: string;
  sig: string;
}

/** A NIP-01 filter after validation; tag conditions are keyed `#<letter>`. */
export interface Filter {
  ids?: string[];
  authors?: string[];
  kinds?: number[];
  since?: number;
  until?: number;
  limit?: number;
  search?: string;
  [tag: `#${string}`]: string[] | undefined;
}

/** The OK/CLOSED answer a client sees: accepted flag and a prefixed reason. */
export type Verdict = [ok: boolean, message: string];
