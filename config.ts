/**
 * @module Every setting Nexus reads, read once from the environment into one frozen object.
 * A bad value stops the start with one line naming the variable.
 */

import type { Rate } from "./relay/token_bucket.ts";

/** Who must authenticate (NIP-42) before what. */
export type AuthMode = "required" | "writes" | "off";

/** Which code frames WebSocket messages: our corked transport, or Deno's own WebSocket. */
export type TransportMode = "corked" | "deno";

/** Token-bucket rates of one verb for unauthenticated and authenticated clients. */
export interface TieredRate {
  anonymous: Rate;
  authenticated: Rate;
}

/** The relay's whole configuration. */
export interface Config {
  port: number;
  host: string;
  /** KV location: a file path, ":memory:", or undefined for the platform default (Deno Deploy). */
  kvPath: string | undefined;
  relayUrl: string | undefined;
  auth: AuthMode;
  name: string;
  description: string;
  pubkey: string | undefined;
  contact: string | undefined;
  maxMessageLength: number;
  maxSubscriptions: number;
  maxFilters: number;
  maxFilterValues: number;
  maxOpenFilterValues: number;
  maxLimit: number;
  defaultLimit: number;
  maxSubidLength: number;
  maxEventTags: number;
  maxContentLength: number;
  createdAtLowerLimit: number;
  createdAtUpperLimit: number;
  /** NIP-13: leading zero bits every event id must have; 0 for none. */
  minPowDifficulty: number;
  jobTtlSeconds: number;
  feedTtlSeconds: number;
  feedPollMs: number;
  /** Newest events each isolate holds in memory to answer REQs without a KV scan; 0 for none. */
  hotEvents: number;
  /** Most events below that window whose keys each isolate scans into a filter; 0 for none. */
  hotBelowMax: number;
  idleTimeoutSeconds: number;
  /** Unsent bytes a client may leave unread before it is told and disconnected. */
  maxBufferedBytes: number;
  /** False turns every token bucket off (the per-IP connection cap stays). */
  rateLimits: boolean;
  eventRate: Readonly<TieredRate>;
  reqRate: Readonly<TieredRate>;
  /** Concurrent WebSocket connections per client IP; 0 for no cap. */
  maxConnectionsPerIp: number;
  /** Client IPs the per-IP cap does not apply to. */
  connectionCapExempt: readonly string[];
  /** Header naming the client IP (lower case), set only behind a trusted proxy. */
  trustProxy: string | undefined;
  /** The WebSocket transport; Deno Deploy always uses Deno's (it offers only `Deno.serve`). */
  transport: TransportMode;
  /** Worker threads each isolate checks EVENT signatures on; 0 checks on the isolate's own. */
  verifyThreads: number;
}

/** Thrown for a bad setting; its message is the one line printed at start-up. */
export class ConfigError extends Error {}

type Env = (name: string) => string | undefined;

/** Read and validate the configuration from an environment lookup (defaults to `Deno.env`). */
export function loadConfig(env: Env = (n) => Deno.env.get(n)): Readonly<Config> {
  const str = (name: string, def: string) => env(name)?.trim() || def;
  const int = (name: string, def: number, min: number, max: number) => {
    const raw = env(name)?.trim();
    if (!raw) return def;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return Number(raw);
  };
  const auth = str("NEXUS_AUTH", "required");
  if (auth !== "required" && auth !== "writes" && auth !== "off") {
    throw new ConfigError(`NEXUS_AUTH must be required, writes or off, got "${auth}"`);
  }
  const transport = str("NEXUS_TRANSPORT", "corked");
  if (transport !== "corked" && transport !== "deno") {
    throw new ConfigError(`NEXUS_TRANSPORT must be corked or deno, got "${transport}"`);
  }
  const relayUrl = env("NEXUS_RELAY_URL")?.trim() || undefined;
  if (relayUrl !== undefined) {
    let ok = false;
    try {
      ok = ["ws:", "wss:", "http:", "https:"].includes(new URL(relayUrl).protocol);
    } catch { /* reported below */ }
    if (!ok) {
      throw new ConfigError(`NEXUS_RELAY_URL must be a ws:// or wss:// URL, got "${relayUrl}"`);
    }
  }
  const pubkey = env("NEXUS_PUBKEY")?.trim() || undefined;
  if (pubkey !== undefined && !/^[0-9a-f]{64}$/.test(pubkey)) {
    throw new ConfigError(`NEXUS_PUBKEY must be 64 lowercase hex characters`);
  }
  const rateLimits = str("NEXUS_RATE_LIMITS", "on");
  if (rateLimits !== "on" && rateLimits !== "off") {
    throw new ConfigError(`NEXUS_RATE_LIMITS must be on or off, got "${rateLimits}"`);
  }
  const rate = (name: string, perSecond: number, burst: number): Readonly<Rate> =>
    Object.freeze({
      perSecond: int(`NEXUS_${name}_RATE`, perSecond, 0, 1_000_000),
      burst: int(`NEXUS_${name}_BURST`, burst, 1, 1_000_000),
    });
  const trust = str("NEXUS_TRUST_PROXY", "off").toLowerCase();
  // A boolean spelled otherwise would be taken for a header no proxy sets: refused, not guessed.
  const boolean = ["true", "false", "yes", "no", "1", "0"].includes(trust);
  if (boolean || (trust !== "off" && trust !== "on" && !/^[a-z0-9-]+$/.test(trust))) {
    throw new ConfigError(`NEXUS_TRUST_PROXY must be off, on or a header name, got "${trust}"`);
  }
  const deploy = env("DENO_DEPLOYMENT_ID") !== undefined;
  // Published as given: NIP-11 only says it SHOULD be a URI (see startupWarnings).
  const contact = env("NEXUS_CONTACT")?.trim() || undefined;
  // Read by deno serve (deno task start), which would silently run one isolate on a bad value.
  if (env("DENO_JOBS") !== undefined) int("DENO_JOBS", 1, 1, 1024);
  const maxLimit = int("NEXUS_MAX_LIMIT", 5000, 1, 100_000);
  const config: Config = {
    port: int("PORT", 8000, 0, 65535),
    host: str("HOST", "0.0.0.0"),
    kvPath: env("NEXUS_KV_PATH")?.trim() || (deploy ? undefined : "./data/nexus.sqlite"),
    relayUrl,
    auth,
    name: str("NEXUS_NAME", "Nexus"),
    description: str(
      "NEXUS_DESCRIPTION",
      "An agent-centric Nostr relay for machine-speed agent commerce (NIP-90 jobs, NIP-89 handlers).",
    ),
    pubkey,
    contact,
    // Deno KV values hold at most 64 KiB, and an event is stored as one value.
    maxMessageLength: int("NEXUS_MAX_MESSAGE_LENGTH", 65000, 1024, 65000),
    maxSubscriptions: int("NEXUS_MAX_SUBSCRIPTIONS", 100, 1, 10_000),
    maxFilters: int("NEXUS_MAX_FILTERS", 20, 1, 1000),
    maxFilterValues: int("NEXUS_MAX_FILTER_VALUES", 1000, 1, 100_000),
    maxOpenFilterValues: int("NEXUS_MAX_OPEN_FILTER_VALUES", 100_000, 1, 100_000_000),
    maxLimit,
    defaultLimit: int("NEXUS_DEFAULT_LIMIT", Math.min(500, maxLimit), 1, maxLimit),
    maxSubidLength: 64,
    // An event and the version it replaces must fit one atomic commit with every index key.
    maxEventTags: int("NEXUS_MAX_EVENT_TAGS", 300, 1, 400),
    maxContentLength: int("NEXUS_MAX_CONTENT_LENGTH", 60000, 1, 65000),
    createdAtLowerLimit: int("NEXUS_CREATED_AT_LOWER_LIMIT", 0, 0, 10 * 365 * 86400),
    createdAtUpperLimit: int("NEXUS_CREATED_AT_UPPER_LIMIT", 900, 0, 10 * 365 * 86400),
    minPowDifficulty: int("NEXUS_MIN_POW_DIFFICULTY", 0, 0, 256),
    jobTtlSeconds: int("NEXUS_JOB_TTL_SECONDS", 86400, 1, 365 * 86400),
    feedTtlSeconds: int("NEXUS_FEED_TTL_SECONDS", 600, 10, 86400),
    feedPollMs: int("NEXUS_FEED_POLL_MS", 100, 10, 60_000),
    hotEvents: int("NEXUS_HOT_EVENTS", 100_000, 0, 10_000_000),
    hotBelowMax: int("NEXUS_HOT_BELOW_MAX", 1_000_000, 0, 100_000_000),
    idleTimeoutSeconds: int("NEXUS_IDLE_TIMEOUT_SECONDS", 30, 2, 3600),
    maxBufferedBytes: int("NEXUS_MAX_BUFFERED_BYTES", 8 * 1024 * 1024, 65536, 1024 ** 3),
    rateLimits: rateLimits === "on",
    // Authenticated agents must sustain 100+ events/s with bursts; anonymous clients get less.
    eventRate: Object.freeze({
      anonymous: rate("EVENT_ANON", 500, 5000),
      authenticated: rate("EVENT_AUTHED", 2000, 20000),
    }),
    reqRate: Object.freeze({
      anonymous: rate("REQ_ANON", 500, 2000),
      authenticated: rate("REQ_AUTHED", 5000, 10000),
    }),
    maxConnectionsPerIp: int("NEXUS_MAX_CONNECTIONS_PER_IP", 200, 0, 1_000_000),
    // Loopback is exempt from the default cap: it is the operator's own tools or a local reverse
    // proxy (all of whose clients would otherwise share one address and one cap). An operator who
    // sets NEXUS_MAX_CONNECTIONS_PER_IP explicitly asked for a cap, so then it applies to every
    // address unless NEXUS_CONNECTION_CAP_EXEMPT names exemptions (issue 6: "a per-IP cap on
    // concurrent connections", with no exemption a client could not see).
    connectionCapExempt: Object.freeze(
      (env("NEXUS_CONNECTION_CAP_EXEMPT") ??
        (env("NEXUS_MAX_CONNECTIONS_PER_IP") ? "" : "127.0.0.1,::1,::ffff:127.0.0.1")).split(",")
        .map((x) => x.trim().toLowerCase()).filter(Boolean).map(exemptIp),
    ),
    trustProxy: trust === "off" ? undefined : trust === "on" ? "x-forwarded-for" : trust,
    transport,
    // One process, one isolate (main.ts, deno task dev, Deploy); start.ts passes its own default.
    verifyThreads: int(
      "NEXUS_VERIFY_THREADS",
      defaultVerifyThreads(navigator.hardwareConcurrency, 1),
      0,
      64,
    ),
  };
  return Object.freeze(config);
}

/**
 * An IP the per-IP cap exempts, as written (compared as connections report it, so not rewritten);
 * anything that is no IP literal stops the start, since a typo would exempt no one silently.
 */
function exemptIp(ip: string): string {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  let ok = v4 ? v4.slice(1).every((octet) => Number(octet) <= 255) : false;
  if (!v4 && ip.includes(":")) {
    try {
      ok = new URL(`http://[${ip}]/`).hostname.length > 2;
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    throw new ConfigError(`NEXUS_CONNECTION_CAP_EXEMPT: "${ip}" is not an IP address`);
  }
  return ip;
}

/**
 * Verification threads per isolate when NEXUS_VERIFY_THREADS is unset: one where the isolates leave
 * a core spare, else none. Checks are about half of an EVENT's CPU; on a thread of their own they
 * overlap framing, storing and fan-out (one isolate on 2 cores: 2,175-2,334 -> 2,532-2,702
 * events/s), but isolates that already fill the cores gain nothing (two on 2 cores: no change).
 */
export function defaultVerifyThreads(cores: number, isolates: number): number {
  return isolates < cores ? 1 : 0;
}

/** A line to log at start when the NIP-42 relay check trusts the client's Host header. */
export function relayUrlWarning(config: Readonly<Config>): string | undefined {
  if (config.relayUrl) return undefined;
  return "nexus: NEXUS_RELAY_URL is not set, so an AUTH's relay tag is checked against the Host " +
    "header each client sends, which a relay in the middle can choose: set it to the public " +
    "wss:// URL";
}

/** Lines to log at start about settings that work but are probably not what the operator meant. */
export function startupWarnings(config: Readonly<Config>): string[] {
  const out: string[] = [];
  const relay = relayUrlWarning(config);
  if (relay) out.push(relay);
  // NIP-11: "Contents of this field SHOULD be a URI, using schemes such as mailto or https".
  if (config.contact && !/^[a-z][a-z0-9+.-]*:\S+$/i.test(config.contact)) {
    out.push(
      `nexus: NEXUS_CONTACT "${config.contact}" is published as given, but NIP-11 asks for a URI ` +
        "such as mailto:ops@example.com",
    );
  }
  return out;
}

/** Load the configuration, or print the one-line reason and exit with status 1. */
export function loadConfigOrExit(): Readonly<Config> {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`nexus: ${err.message}`);
      Deno.exit(1);
    }
    throw err;
  }
}
