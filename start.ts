/**
 * @module `deno task start`: validate the settings once, then run `deno serve --parallel` with one
 * isolate per core (DENO_JOBS=N picks N), forwarding signals so shutdown stays graceful.
 */
import { loadConfigOrExit } from "./config.ts";

const config = loadConfigOrExit();
const env: Record<string, string> = {};
// An in-memory KV is private to each isolate, so isolates could not share events: run one.
if (config.kvPath === ":memory:") env.DENO_JOBS = "1";

const here = new URL(".", import.meta.url).pathname;
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "serve",
    "--parallel",
    "-A",
    "--port",
    String(config.port),
    "--host",
    config.host,
    "serve.ts",
  ],
  cwd: here,
  env,
  stdin: "null",
}).spawn();

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    try {
      child.kill(sig);
    } catch { /* already gone */ }
  });
}
const status = await child.status;
Deno.exit(status.code);
