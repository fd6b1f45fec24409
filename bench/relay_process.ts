/** @module Starts relays for the benchmark: `deno task start` (start.ts) or a single `main.ts`. */

/** A relay process started by the benchmark. */
export interface Relay {
  url: string;
  kvPath: string;
  rssBytes(): Promise<number>;
  /** The most memory the relay's processes have held at once since they started (VmHWM). */
  peakRssBytes(): Promise<number>;
  /** CPU time the relay's processes have used so far, in seconds (user + system, or system only). */
  cpuSeconds(only?: "system"): Promise<number>;
  stop(): Promise<void>;
}

/** Options for a benchmark relay. */
export interface RelayOptions {
  auth: boolean;
  /** `start` runs start.ts (one isolate per core); `main` runs one isolate with Deno.serve. */
  entry?: "start" | "main";
  /** Share an existing KV file (a second instance); a temporary one otherwise. */
  kvPath?: string;
}

/** Launch a relay on a free port and wait until it listens. */
export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const dir = opts.kvPath ? undefined : await Deno.makeTempDir({ prefix: "nexus-bench-" });
  const kvPath = opts.kvPath ?? `${dir}/bench.sqlite`;
  const entry = opts.entry ?? "start";
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${entry}.ts`],
    cwd: new URL("..", import.meta.url).pathname,
    env: {
      // NEXUS_* settings in the bench's environment reach the relay (e.g. to try a limit).
      ...Object.fromEntries(
        Object.entries(Deno.env.toObject()).filter(([k]) => k.startsWith("NEXUS_")),
      ),
      HOST: "127.0.0.1",
      PORT: "0",
      // --auth asks for AUTH; without it the environment's NEXUS_AUTH, else none (the figures in
      // BENCHMARKS.md are without, unless they say so).
      NEXUS_AUTH: opts.auth ? "required" : Deno.env.get("NEXUS_AUTH") || "off",
      NEXUS_KV_PATH: kvPath,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // start.ts reports through deno serve on stderr; main.ts logs its own line on stdout.
  const port = await Promise.race([
    listenPort(child.stderr, /Listening on http:\/\/[^:]+:(\d+)/),
    listenPort(child.stdout, /listening on ws:\/\/[^:]+:(\d+)/),
    child.status.then((s) => Promise.reject(new Error(`relay exited with ${s.code}`))),
  ]);
  /** A memory field of /proc/<pid>/status, summed over the relay's processes. */
  const statusBytes = async (field: string) => {
    // start.ts is a launcher: the relay is its `deno serve` child.
    const pids = entry === "start" ? await children(child.pid) : [child.pid];
    let total = 0;
    for (const pid of pids) {
      const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
      const kb = new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1];
      if (kb) total += Number(kb) * 1024;
    }
    return total;
  };
  return {
    url: `ws://127.0.0.1:${port}`,
    kvPath,
    rssBytes: () => statusBytes("VmRSS"),
    peakRssBytes: () => statusBytes("VmHWM"),
    async cpuSeconds(only?: "system") {
      const pids = entry === "start" ? await children(child.pid) : [child.pid];
      let total = 0;
      for (const pid of pids) total += await processCpuSeconds(pid, only);
      return total;
    },
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Read a stream until a line gives the port, then keep draining it so the child never blocks. */
function listenPort(stream: ReadableStream<Uint8Array>, re: RegExp): Promise<number> {
  return new Promise((resolve) => {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let found = false;
    (async () => {
      for (let r; !(r = await reader.read()).done;) {
        if (Deno.env.get("BENCH_RELAY_LOG")) console.error(r.value);
        if (found) continue;
        text += r.value;
        const m = re.exec(text);
        if (m) {
          found = true;
          resolve(Number(m[1]));
        }
      }
    })();
  });
}

async function children(pid: number): Promise<number[]> {
  const text = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`).catch(() => "");
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

/**
 * User + system CPU seconds of a process (all its threads), or system alone, from /proc; 0 where
 * unavailable.
 */
export async function processCpuSeconds(
  pid: number | "self",
  only?: "system",
): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((only ? 0 : Number(f[11])) + Number(f[12])) / 100 || 0;
}
