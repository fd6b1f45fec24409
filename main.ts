/**
 * @module One-isolate entry point, for platforms that run a file directly (Deno Deploy, where it
 * is plain `Deno.serve`), `deno task dev` and one-isolate runs. `deno task start` uses start.ts,
 * one isolate per core.
 */
import { loadConfigOrExit, startupWarnings } from "./config.ts";
import { listeningLine, serveNexus, type Serving } from "./listen.ts";
import { preflightOrExit } from "./preflight.ts";
import { createNexus, openKv } from "./server.ts";

const config = loadConfigOrExit();
// Deno Deploy picks the address itself and offers only Deno.serve; everywhere else PORT and HOST
// decide, and NEXUS_TRANSPORT.
const onDeploy = Deno.env.get("DENO_DEPLOYMENT_ID") !== undefined;
if (import.meta.main) await preflightOrExit(config, !onDeploy);
const nexus = createNexus(config, await openKv(config.kvPath));

/** After a signal, exit by this deadline even if a socket or a commit is stuck. */
const SHUTDOWN_DEADLINE_MS = 4000;

let server: Deno.HttpServer | Serving | undefined;
let stopping: Promise<void> | undefined;

/**
 * Stop serving: refuse new connections, tell clients (a NOTICE, close code 1001), close
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
  for (const warning of startupWarnings(config)) console.warn(warning);
  const onListen = (addr: Deno.NetAddr) => console.log(listeningLine(addr));
  server = onDeploy
    ? Deno.serve({ onListen: (addr) => onListen(addr as Deno.NetAddr) }, nexus.fetch)
    : serveNexus(nexus, config, { hostname: config.host, port: config.port, onListen });
  Deno.addSignalListener("SIGINT", exitOnSignal);
  Deno.addSignalListener("SIGTERM", exitOnSignal);
}
