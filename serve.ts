/**
 * @module The entry for `deno serve --parallel serve.ts`: one Nexus isolate per worker, all
 * sharing the KV file, BroadcastChannel and the change feed. `deno task start` launches it.
 */
import { loadConfigOrExit } from "./config.ts";
import { createNexus, openKv } from "./server.ts";

const config = loadConfigOrExit();
const nexus = createNexus(config, await openKv(config.kvPath));

let stopping: Promise<void> | undefined;
const stop = () => {
  // Open BroadcastChannel and watch handles keep a serve worker alive: close them on a signal.
  stopping ??= nexus.close().catch((err) => console.error("nexus: shutdown failed:", err));
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);

/** The fetch handler `deno serve` calls. */
export default { fetch: nexus.fetch } satisfies Deno.ServeDefaultExport;
