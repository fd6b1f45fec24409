import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import {
  ConfigError,
  defaultVerifyThreads,
  loadConfig,
  relayUrlWarning,
  startupWarnings,
} from "./config.ts";

const load = (env: Record<string, string>) => loadConfig((n) => env[n]);

Deno.test("loadConfig() defaults match the README", () => {
  const c = load({});
  assertEquals(c.port, 8000);
  assertEquals(c.host, "0.0.0.0");
  assertEquals(c.kvPath, "./data/nexus.sqlite");
  assertEquals(c.relayUrl, undefined);
  assertEquals(c.auth, "required");
  assertEquals(c.name, "Nexus");
  assertEquals(c.maxMessageLength, 65000);
  assertEquals(c.maxSubscriptions, 100);
  assertEquals(c.maxFilters, 20);
  assertEquals(c.maxFilterValues, 1000);
  assertEquals(c.maxOpenFilterValues, 100_000);
  assertEquals(c.maxLimit, 5000);
  assertEquals(c.defaultLimit, 500);
  assertEquals(c.maxSubidLength, 64);
  assertEquals(c.maxEventTags, 300);
  assertEquals(c.maxContentLength, 60000);
  assertEquals(c.createdAtLowerLimit, 0);
  assertEquals(c.createdAtUpperLimit, 900);
  assertEquals(c.jobTtlSeconds, 86400);
  assertEquals(c.feedTtlSeconds, 600);
  assertEquals(c.hotEvents, 100_000);
  assertEquals(c.hotBelowMax, 1_000_000);
  assertEquals(c.transport, "corked");
  assert(Object.isFrozen(c));
});

Deno.test("loadConfig() reads each variable", () => {
  const c = load({
    PORT: "9000",
    HOST: "127.0.0.1",
    NEXUS_KV_PATH: ":memory:",
    NEXUS_RELAY_URL: "wss://relay.example.com",
    NEXUS_AUTH: "writes",
    NEXUS_PUBKEY: "a".repeat(64),
    NEXUS_MAX_LIMIT: "100",
    NEXUS_DEFAULT_LIMIT: "100",
  });
  assertEquals([c.port, c.host, c.kvPath, c.relayUrl, c.auth], [
    9000,
    "127.0.0.1",
    ":memory:",
    "wss://relay.example.com",
    "writes",
  ]);
  assertEquals([c.pubkey, c.maxLimit, c.defaultLimit], ["a".repeat(64), 100, 100]);
  assertEquals(
    load({ NEXUS_MAX_LIMIT: "100" }).defaultLimit,
    100,
    "default limit follows a lower max",
  );
  assertEquals(load({ DENO_DEPLOYMENT_ID: "x" }).kvPath, undefined, "Deploy uses the platform KV");
  assertEquals(load({ NEXUS_TRANSPORT: "deno" }).transport, "deno");
  assertEquals(
    load({ NEXUS_CONNECTION_CAP_EXEMPT: " 10.0.0.1, ::1,::FFFF:10.0.0.2 , 2001:db8::1" })
      .connectionCapExempt,
    ["10.0.0.1", "::1", "::ffff:10.0.0.2", "2001:db8::1"],
  );
  assertEquals(load({ NEXUS_TRUST_PROXY: "X-Real-IP" }).trustProxy, "x-real-ip");
});

Deno.test("loadConfig() throws a ConfigError naming the variable for each bad value", () => {
  const bad: Array<[string, string]> = [
    ["PORT", "eighty"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["NEXUS_AUTH", "yes"],
    ["NEXUS_RELAY_URL", "not a url"],
    ["NEXUS_RELAY_URL", "ftp://x"],
    ["NEXUS_PUBKEY", "abc"],
    ["NEXUS_MAX_MESSAGE_LENGTH", "70000"],
    ["NEXUS_MAX_MESSAGE_LENGTH", "1.5"],
    ["NEXUS_MAX_SUBSCRIPTIONS", "0"],
    ["NEXUS_MAX_FILTERS", "x"],
    ["NEXUS_MAX_FILTER_VALUES", "0"],
    ["NEXUS_MAX_LIMIT", "0"],
    ["NEXUS_MAX_EVENT_TAGS", "401"],
    ["NEXUS_MAX_CONTENT_LENGTH", "0"],
    ["NEXUS_CREATED_AT_LOWER_LIMIT", "-5"],
    ["NEXUS_CREATED_AT_UPPER_LIMIT", "1e3"],
    ["NEXUS_JOB_TTL_SECONDS", "0"],
    ["NEXUS_FEED_TTL_SECONDS", "1"],
    ["NEXUS_MIN_POW_DIFFICULTY", "257"],
    ["DENO_JOBS", "abc"],
    ["DENO_JOBS", "0"],
    ["NEXUS_TRANSPORT", "uws"],
    ["NEXUS_VERIFY_THREADS", "-1"],
    ["NEXUS_VERIFY_THREADS", "65"],
    // A typo must not exempt no one silently, nor a boolean name a header no proxy sets.
    ["NEXUS_CONNECTION_CAP_EXEMPT", "127.0.0.1,localhost"],
    ["NEXUS_CONNECTION_CAP_EXEMPT", "10.0.0.256"],
    ["NEXUS_CONNECTION_CAP_EXEMPT", "abc"],
    ["NEXUS_TRUST_PROXY", "true"],
    ["NEXUS_TRUST_PROXY", "1"],
  ];
  for (const [name, value] of bad) {
    const err = assertThrows(() => load({ [name]: value }), ConfigError);
    assert(err.message.includes(name), `${name}=${value}: ${err.message}`);
    assert(!err.message.includes("\n"), "one line");
  }
  const err = assertThrows(
    () => load({ NEXUS_MAX_LIMIT: "10", NEXUS_DEFAULT_LIMIT: "11" }),
    ConfigError,
  );
  assert(err.message.includes("NEXUS_DEFAULT_LIMIT"), err.message);
});

Deno.test("NEXUS_CONTACT is published as given; one that is no URI gets a warning at start", () => {
  const uri = load({ NEXUS_CONTACT: "mailto:ops@example.com", NEXUS_RELAY_URL: "wss://r.example" });
  assertEquals([uri.contact, startupWarnings(uri)], ["mailto:ops@example.com", []]);
  const bare = load({ NEXUS_CONTACT: "ops@example.com", NEXUS_RELAY_URL: "wss://r.example" });
  assertEquals(bare.contact, "ops@example.com");
  assertMatch(startupWarnings(bare).join("\n"), /NEXUS_CONTACT "ops@example\.com" is published/);
});

Deno.test("relayUrlWarning() warns only while the relay URL comes from the Host header", () => {
  assertMatch(relayUrlWarning(load({}))!, /NEXUS_RELAY_URL is not set/);
  assertEquals(relayUrlWarning(load({ NEXUS_RELAY_URL: "wss://relay.example" })), undefined);
});

Deno.test("NEXUS_VERIFY_THREADS: a thread where the isolates leave a core spare, else none", () => {
  assertEquals(load({}).verifyThreads, navigator.hardwareConcurrency > 1 ? 1 : 0);
  assertEquals(load({ NEXUS_VERIFY_THREADS: "0" }).verifyThreads, 0);
  assertEquals(load({ NEXUS_VERIFY_THREADS: "3" }).verifyThreads, 3);
  assertEquals(defaultVerifyThreads(2, 1), 1, "one isolate on 2 cores (main.ts, DENO_JOBS=1)");
  assertEquals(defaultVerifyThreads(2, 2), 0, "deno task start's default: an isolate per core");
  assertEquals(defaultVerifyThreads(1, 1), 0, "one core");
  assertEquals(defaultVerifyThreads(8, 4), 1);
});
