/**
 * @module `deno task start`: validate the settings once, then run `deno serve --parallel` with one
 * isolate per core (DENO_JOBS=N picks N), forwarding signals so shutdown stays graceful. On the
 * corked transport each isolate listens on PORT itself (SO_REUSEPORT) and `deno serve`'s own
 * listener, on a loopback port nobody is told of, stays idle.
 */
import { defaultVerifyThreads, loadConfigOrExit, startupWarnings } from "./config.ts";
import { preflightOrExit, serveHostArg } from "./preflight.ts";

const config = loadConfigOrExit();
// deno serve would report these with a stack trace, or a Rust backtrace for a bad HOST.
const port = await preflightOrExit(config, true);
for (const warning of startupWarnings(config)) console.warn(warning);
const env: Record<string, string> = {};
// deno serve reads DENO_JOBS raw and runs one isolate on anything but digits, a blank value
// included: always pass on the number of isolates this launcher means (config.ts validated it),
// so the thread default below is chosen for the isolates that actually run. An in-memory KV is
// private to each isolate, so isolates could not share events: run one.
const cores = navigator.hardwareConcurrency;
const jobs = Deno.env.get("DENO_JOBS")?.trim();
const isolates = config.kvPath === ":memory:" ? 1 : jobs ? Number(jobs) : cores;
env.DENO_JOBS = String(isolates);
// Signatures go to a thread of each isolate's own only where the isolates leave cores spare (say
// DENO_JOBS=1 on 2 cores, which ingests more than the default two isolates: BENCHMARKS.md).
if (!Deno.env.get("NEXUS_VERIFY_THREADS")?.trim()) {
  env.NEXUS_VERIFY_THREADS = String(defaultVerifyThreads(cores, isolates));
}
// Isolates sharing a port must be given the same one: PORT=0 is resolved here.
const corked = config.transport === "corked";
if (corked) env.PORT = String(port);

const here = new URL(".", import.meta.url).pathname;
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "serve",
    "--parallel",
    "-A",
    "--port",
    corked ? "0" : String(config.port),
    "--host",
    corked ? "127.0.0.1" : serveHostArg(config.host),
    "serve.ts",
  ],
  cwd: here,
  env,
  stdin: "null",
}).spawn();

/**
 * After a signal, the isolates' own shutdown (tell clients, close sockets, the feed and the KV)
 * takes well under a second, but `deno serve` sometimes stays up for half of
 * NEXUS_IDLE_TIMEOUT_SECONDS more (about 7% of runs with clients still publishing, with no socket
 * left open: a runtime timer), so it is cut here, as main.ts cuts its own shutdown.
 */
const EXIT_DEADLINE_MS = 4000;
let deadline: ReturnType<typeof setTimeout> | undefined;
let killed = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    try {
      child.kill(sig);
    } catch { /* already gone */ }
    deadline ??= setTimeout(() => {
      killed = true;
      console.error(`nexus: deno serve was still up ${EXIT_DEADLINE_MS} ms after ${sig}: killed`);
      try {
        child.kill("SIGKILL");
      } catch { /* gone meanwhile */ }
    }, EXIT_DEADLINE_MS);
  });
}
const status = await child.status;
clearTimeout(deadline);
// As main.ts does when its deadline passes: an exit that had to be forced is not a clean one.
Deno.exit(killed ? 1 : status.code);
