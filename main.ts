/**
 * @module Entry point. `deno run main.ts` serves with Deno.serve; `deno serve --parallel main.ts`
 * uses the default export, one isolate per core, all sharing the KV.
 */
import { ConfigError, loadConfig } from "./config.ts";
import { createNexus, openKv } from "./server.ts";

function start() {
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

const config = start();
const nexus = createNexus(config, await openKv(config.kvPath));

/** The fetch handler for `deno serve`. */
export default { fetch: nexus.fetch } satisfies Deno.ServeDefaultExport;

/** After a signal, exit by this deadline even if a socket or a commit is stuck. */
const SHUTDOWN_DEADLINE_MS = 4000;

let server: Deno.HttpServer | undefined;
let stopping: Promise<void> | undefined;

/**
 * Stop serving: refuse new connections, tell clients (CLOSED per subscription, NOTICE), close
 * their sockets, the HTTP server and the KV. Idempotent, so every signal and entry may call it.
 */
export function shutdown(): Promise<void> {
  return stopping ??= (async () => {
    await nexus.close();
    // Clients that never answer the close handshake must not hold the exit.
    await Promise.race([server?.shutdown(), new Promise((r) => setTimeout(r, 2000))]);
  })();
}

/** Shut down on a signal and exit the process, within SHUTDOWN_DEADLINE_MS. */
export function exitOnSignal(): void {
  const timer = setTimeout(() => Deno.exit(1), SHUTDOWN_DEADLINE_MS);
  Deno.unrefTimer(timer);
  shutdown().then(() => Deno.exit(0), (err) => {
    console.error("nexus: shutdown failed:", err);
    Deno.exit(1);
  });
}

if (import.meta.main) {
  server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: ({ hostname, port }) =>
      console.log(`nexus: relay listening on ws://${hostname}:${port}`),
  }, nexus.fetch);
  Deno.addSignalListener("SIGINT", exitOnSignal);
  Deno.addSignalListener("SIGTERM", exitOnSignal);
}
