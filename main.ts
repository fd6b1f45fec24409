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

if (import.meta.main) {
  const server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: ({ hostname, port }) =>
      console.log(`nexus: relay listening on ws://${hostname}:${port}`),
  }, nexus.fetch);
  const stop = async () => {
    await nexus.close();
    await server.shutdown();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
