/** @module Starts `deno task start` (start.ts) on a free port with a temporary KV, for the benchmark. */

/** A relay process started by the benchmark. */
export interface Relay {
  url: string;
  rssBytes(): Promise<number>;
  stop(): Promise<void>;
}

/** Launch the relay and wait until it listens. */
export async function startRelay(opts: { auth: boolean }): Promise<Relay> {
  const dir = await Deno.makeTempDir({ prefix: "nexus-bench-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "start.ts"],
    cwd: new URL("..", import.meta.url).pathname,
    env: {
      HOST: "127.0.0.1",
      PORT: "0",
      NEXUS_AUTH: opts.auth ? "required" : "off",
      NEXUS_KV_PATH: `${dir}/bench.sqlite`,
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let err = "";
  let port = 0;
  while (!port) {
    const { value, done } = await reader.read();
    if (done) throw new Error("relay exited: " + err);
    err += value;
    const m = /Listening on http:\/\/[^:]+:(\d+)/.exec(err);
    if (m) port = Number(m[1]);
  }
  (async () => {
    for (let r; !(r = await reader.read()).done;) {
      if (Deno.env.get("BENCH_RELAY_LOG")) console.error(r.value);
    }
  })();
  return {
    url: `ws://127.0.0.1:${port}`,
    async rssBytes() {
      // start.ts is a launcher: the relay is its `deno serve` child.
      let total = 0;
      for (const pid of [child.pid, ...await children(child.pid)]) {
        const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
        const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
        if (kb && pid !== child.pid) total += Number(kb) * 1024;
      }
      return total;
    },
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function children(pid: number): Promise<number[]> {
  const text = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`).catch(() => "");
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}
