/** @module The Nexus version, shown in NIP-11, the HUD and /api/stats. */

/** Semantic version of this build. */
export const VERSION = "0.1.0";
