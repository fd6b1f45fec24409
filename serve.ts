/**
 * @module The entry for `deno serve --parallel serve.ts`: one Nexus isolate per worker, all
 * sharing the KV file, BroadcastChannel and the change feed. `deno task start` launches it.
 */
import { loadConfigOrExit } from "./config.ts";
import { listeningLine, serveNexus, type Serving } from "./listen.ts";
import { createNexus, openKv } from "./server.ts";

const config = loadConfigOrExit();
const nexus = createNexus(config, await openKv(config.kvPath));
// On the corked transport this isolate takes PORT itself, beside its siblings (start.ts).
const serving: Serving | undefined = config.transport === "corked"
  ? serveNexus(nexus, config, {
    hostname: config.host,
    port: config.port,
    reusePort: true,
    onListen: (addr) => console.log(listeningLine(addr)),
  })
  : undefined;

let stopping: Promise<void> | undefined;
const stop = () => {
  // Open BroadcastChannel and watch handles keep a serve worker alive: close them on a signal.
  stopping ??= (async () => {
    await nexus.close();
    await serving?.shutdown();
  })().catch((err) => console.error("nexus: shutdown failed:", err));
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);

/** The fetch handler `deno serve` calls. */
export default {
  fetch: nexus.fetch,
  // deno serve's own address is not the relay's on the corked transport: do not announce it.
  ...(serving ? { onListen: () => {} } : {}),
} satisfies Deno.ServeDefaultExport;
