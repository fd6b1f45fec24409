/** @module NIP-42: kind 22242 is only ever sent with AUTH, never stored or broadcast. */
import type { EventPolicy } from "../policy.ts";
import { reason } from "../reason.ts";

/** Refuse kind 22242 sent as an EVENT. */
export const noAuthEvents: EventPolicy = (ev) =>
  ev.kind === 22242 ? reason("invalid", "kind 22242 is sent with AUTH, not EVENT") : undefined;
