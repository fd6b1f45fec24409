/**
 * @module Start-up checks: an address the relay cannot listen on, or a KV path it cannot open,
 * stops the start with one line naming the setting, as a bad value does in config.ts.
 */
import type { Config } from "./config.ts";
import { openKv } from "./kv/open_kv.ts";

/** HOST as `deno serve --host` takes it: an IPv6 address in brackets (`::` fails bare). */
export function serveHostArg(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * Check that HOST:PORT can be listened on (when `listen`) and NEXUS_KV_PATH opened, or exit.
 * Returns the port tried: for PORT=0, one the system had free.
 */
export async function preflightOrExit(config: Readonly<Config>, listen: boolean): Promise<number> {
  let port = config.port;
  const fail = (setting: string, err: unknown) => {
    console.error(`nexus: cannot use ${setting}: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  };
  if (listen) {
    try {
      const probe = Deno.listen({ hostname: config.host, port: config.port });
      port = (probe.addr as Deno.NetAddr).port;
      probe.close();
    } catch (err) {
      fail(`HOST=${config.host} PORT=${config.port}`, err);
    }
  }
  const path = config.kvPath;
  if (path && path !== ":memory:") {
    try {
      (await openKv(path)).close();
    } catch (err) {
      fail(`NEXUS_KV_PATH=${path}`, err);
    }
  }
  return port;
}
