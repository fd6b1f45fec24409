/**
 * @module Plain `Deno.serve` entry point, for platforms that run a file directly (Deno Deploy)
 * and for one-isolate runs. `deno task start` uses start.ts, one isolate per core.
 */
import { loadConfigOrExit } from "./config.ts";
import { createNexus, openKv } from "./server.ts";

const config = loadConfigOrExit();
const nexus = createNexus(config, await openKv(config.kvPath));

if (import.meta.main) {
  // Deno Deploy picks the address itself; everywhere else PORT and HOST decide.
  const onDeploy = Deno.env.get("DENO_DEPLOYMENT_ID") !== undefined;
  const server = Deno.serve({
    ...(onDeploy ? {} : { port: config.port, hostname: config.host }),
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
