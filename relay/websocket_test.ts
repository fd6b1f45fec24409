import { assert, assertEquals } from "@std/assert";
import { loadConfig } from "../config.ts";
import { MemoryStore } from "../kv/memory_store.ts";
import { Relay } from "./relay.ts";
import { attachSocket, type RelaySocket } from "./websocket.ts";

Deno.test("attachSocket: a message's promise settles once the relay has answered it", async () => {
  const env: Record<string, string> = { NEXUS_AUTH: "off", NEXUS_VERIFY_THREADS: "0" };
  const relay = new Relay({ config: loadConfig((n) => env[n]), store: new MemoryStore() });
  const sent: string[] = [];
  const socket: RelaySocket = {
    open: true,
    bufferedAmount: 0,
    send: (data) => void sent.push(data),
    close() {},
  };
  const events = attachSocket(relay, socket, "127.0.0.1", "ws://127.0.0.1/");
  events.open();
  // The corked transport stops reading while too many of these are unsettled (maxBusy).
  const handling = events.message(JSON.stringify(["REQ", "s", { kinds: [1] }]));
  assert(handling instanceof Promise, "the transport needs the promise to count messages in hand");
  await handling;
  assertEquals(JSON.parse(sent.at(-1)!), ["EOSE", "s"]);
  events.closed();
});
