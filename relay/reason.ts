/** @module The one place machine-readable reasons (NIP-01 OK/CLOSED prefixes) are built. */

/** The standard prefixes Nexus uses. */
export type Prefix =
  | "invalid"
  | "duplicate"
  | "blocked"
  | "pow"
  | "rate-limited"
  | "restricted"
  | "auth-required"
  | "error"
  | "unsupported";

/** A reason string such as `invalid: bad signature`. */
export function reason(prefix: Prefix, message: string): string {
  return `${prefix}: ${message}`;
}

/** The prefix of a reason string, or "" when it has none. */
export function prefixOf(msg: string): string {
  const i = msg.indexOf(":");
  return i > 0 ? msg.slice(0, i) : "";
}
