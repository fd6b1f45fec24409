/** @module Hex encoding without a dependency on std's encoding module. */

/** Lowercase hex of bytes. */
export function encodeHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
