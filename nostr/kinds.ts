/** @module Kind classes from NIP-01, NIP-90, NIP-89 and NIP-32, kept as data. */

/** The storage behaviour a kind gets from NIP-01. */
export type KindClass = "regular" | "replaceable" | "ephemeral" | "addressable";

/** True for kinds where only the newest event per author and kind is kept. */
export function isReplaceable(kind: number): boolean {
  return kind === 0 || kind === 3 || (kind >= 10000 && kind < 20000);
}

/** True for kinds that are delivered live and never stored. */
export function isEphemeral(kind: number): boolean {
  return kind >= 20000 && kind < 30000;
}

/** True for kinds where only the newest event per author, kind and `d` tag is kept. */
export function isAddressable(kind: number): boolean {
  return kind >= 30000 && kind < 40000;
}

/** The NIP-01 storage class of a kind. */
export function kindClass(kind: number): KindClass {
  if (isReplaceable(kind)) return "replaceable";
  if (isEphemeral(kind)) return "ephemeral";
  if (isAddressable(kind)) return "addressable";
  return "regular";
}

/** Agent-commerce roles of kinds, checked in order; the first matching range wins. */
export const KIND_ROLES: ReadonlyArray<{ from: number; to: number; role: KindRole }> = [
  { from: 5000, to: 5999, role: "job-request" },
  { from: 6000, to: 6999, role: "job-result" },
  { from: 7000, to: 7000, role: "job-feedback" },
  { from: 31990, to: 31990, role: "handler" },
  { from: 1985, to: 1985, role: "label" },
];

/** The agent-commerce role of a kind, if it has one. */
export type KindRole = "job-request" | "job-result" | "job-feedback" | "handler" | "label";

/** The commerce role of a kind, or undefined for ordinary kinds. */
export function kindRole(kind: number): KindRole | undefined {
  for (const r of KIND_ROLES) if (kind >= r.from && kind <= r.to) return r.role;
  return undefined;
}

/** True for NIP-90 job requests, results and feedback, which get the job retention window. */
export function isJobKind(kind: number): boolean {
  return kind >= 5000 && kind <= 7000;
}

/** The replaceable address of an event: `kind:pubkey:d`, or undefined for other kinds. */
export function addressOf(
  ev: { kind: number; pubkey: string; tags: string[][] },
): string | undefined {
  if (isReplaceable(ev.kind)) return `${ev.kind}:${ev.pubkey}:`;
  if (isAddressable(ev.kind)) return `${ev.kind}:${ev.pubkey}:${dTag(ev.tags)}`;
  return undefined;
}

/** The first `d` tag value, or "" when absent (NIP-01). */
export function dTag(tags: string[][]): string {
  for (const t of tags) if (t[0] === "d") return t[1] ?? "";
  return "";
}

/** Whether an event's NIP-40 expiration has passed at `now` (unix seconds). */
export function isExpired(tags: string[][], now = Math.floor(Date.now() / 1000)): boolean {
  const exp = expirationOf(tags);
  return exp !== undefined && exp <= now;
}

/** The NIP-40 expiration timestamp of an event, if it carries a valid one. */
export function expirationOf(tags: string[][]): number | undefined {
  for (const t of tags) {
    if (t[0] === "expiration" && t[1] !== undefined && /^\d{1,15}$/.test(t[1])) return Number(t[1]);
  }
  return undefined;
}
