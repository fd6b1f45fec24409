/** @module Test helpers for running the relay as its own process (`deno run -A main.ts`). */

const ROOT = new URL("..", import.meta.url).pathname;

/** A relay process on 127.0.0.1. */
export interface RelayProcess {
  url: string;
  http: string;
  child: Deno.ChildProcess;
}

/** A port that was free a moment ago. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Spawn `deno run -A main.ts` on a KV file and wait until it answers NIP-11. */
export async function spawnRelay(kvPath: string, env: Record<string, string> = {}) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: ROOT,
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      NEXUS_KV_PATH: kvPath,
      NEXUS_AUTH: "off",
      NEXUS_RATE_LIMITS: "off",
      ...env,
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const http = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(http, { headers: { accept: "application/nostr+json" } });
      await res.body?.cancel();
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error("relay process did not start");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `ws://127.0.0.1:${port}`, http, child } satisfies RelayProcess;
}

/** Stop a relay process gracefully and wait for it to exit. */
export async function stopRelay(r: RelayProcess): Promise<void> {
  r.child.kill("SIGTERM");
  await r.child.status;
}

/** Run `deno task check-store` on a KV file; returns its exit code and output. */
export async function checkStoreTask(kvPath: string): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "check-store", kvPath],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code, out: dec.decode(stdout) + dec.decode(stderr) };
}
