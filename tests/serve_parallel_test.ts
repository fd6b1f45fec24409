/** `deno task start`'s launcher: deno serve --parallel with two isolates sharing one KV. */
import { assert, assertEquals } from "@std/assert";
import { Agent, Client } from "./helpers.ts";
import { serveHostArg } from "../preflight.ts";
import { defaultVerifyThreads } from "../config.ts";

/** `deno run -A start.ts` on loopback (PORT=0), stdout and stderr piped. */
function startTs(env: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "start.ts"],
    cwd: new URL("..", import.meta.url).pathname,
    env: { HOST: "127.0.0.1", PORT: "0", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("deno serve --parallel: every subscriber on every isolate gets each event once; SIGTERM exits", async () => {
  const dir = await Deno.makeTempDir();
  const child = startTs({
    DENO_JOBS: " 2", // deno serve itself would run one isolate on the space
    NEXUS_AUTH: "off",
    NEXUS_KV_PATH: `${dir}/kv.sqlite`,
  });
  const stderr = child.stderr.pipeTo(new WritableStream());
  // Each isolate announces the port it shares with the others.
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while ((out.match(/relay listening on/g) ?? []).length < 2) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server exited: " + out);
    out += value;
  }
  const ports = [...out.matchAll(/relay listening on ws:\/\/[^:]+:(\d+)/g)].map((m) => m[1]);
  assertEquals(ports.length, 2, out);
  assertEquals(ports[0], ports[1], "the isolates share one port");
  const port = Number(ports[0]);
  assert(port > 0, out);
  const drain = (async () => {
    while (!(await reader.read()).done) { /* keep the pipe flowing */ }
  })();
  const url = `ws://127.0.0.1:${port}`;
  const agent = new Agent();
  // Sixteen connections land on both isolates with overwhelming probability.
  const subs = await Promise.all(Array.from({ length: 16 }, () => Client.connect(url)));
  for (const c of subs) await c.req("live", { authors: [agent.pubkey] });
  const pubs = await Promise.all(Array.from({ length: 4 }, () => Client.connect(url)));
  const sent = [];
  for (let i = 0; i < 40; i++) {
    const ev = agent.sign({ content: `e${i}` });
    sent.push(ev.id);
    assertEquals((await pubs[i % 4]!.publish(ev))[2], true);
  }
  for (const c of subs) {
    await c.until(() => c.inbox.filter((m) => Array.isArray(m) && m[0] === "EVENT").length >= 40);
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const c of subs) {
    const got = c.inbox.filter((m) => Array.isArray(m) && m[0] === "EVENT").map((m) =>
      ((m as unknown[])[2] as { id: string }).id
    );
    assertEquals(got.sort(), [...sent].sort());
  }
  const t0 = Date.now();
  child.kill("SIGTERM");
  const status = await child.status;
  assert(Date.now() - t0 < 5000, "shutdown took too long");
  assert(status.code === 0 || status.signal === "SIGTERM", `exit ${JSON.stringify(status)}`);
  for (const c of [...subs, ...pubs]) await c.close();
  await drain;
  await stderr;
});

Deno.test("deno task start: a deno serve that does not exit after SIGTERM is killed within the deadline", async () => {
  const dir = await Deno.makeTempDir();
  const child = startTs({ DENO_JOBS: "1", NEXUS_KV_PATH: `${dir}/kv.sqlite` });
  let err = "";
  const drain = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
  })();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  for (let out = ""; !/relay listening/.test(out);) {
    const { value, done } = await lines.read();
    if (done) throw new Error("server exited: " + err);
    out += value;
  }
  const stdout = (async () => {
    while (!(await lines.read()).done) { /* keep the pipe flowing */ }
  })();
  const pgrep = await new Deno.Command("pgrep", {
    args: ["-P", String(child.pid)],
    stdout: "piped",
  })
    .output();
  const serve = Number(new TextDecoder().decode(pgrep.stdout).trim());
  assert(serve > 0, "no deno serve child");
  // Stopped, it cannot act on the SIGTERM: it stands for a deno serve that lingers after one.
  Deno.kill(serve, "SIGSTOP");
  const t0 = Date.now();
  child.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const status = await Promise.race([
    child.status,
    new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 8000)),
  ]);
  clearTimeout(timer);
  if (!status) {
    for (const pid of [serve, child.pid]) Deno.kill(pid, "SIGKILL");
    await child.status;
    throw new Error("start.ts waited on a deno serve that did not exit");
  }
  assert(Date.now() - t0 < 6000, `exited after ${Date.now() - t0} ms`);
  assertEquals(status.code, 1, "a forced exit is not reported as clean");
  await drain;
  await stdout;
  assert(err.includes("still up"), err);
  // The stopped deno serve is gone too, not left behind.
  const left = await new Deno.Command("kill", { args: ["-0", String(serve)], stderr: "null" })
    .output();
  assert(!left.success, "deno serve is still running");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deno task start and main.ts: an address or KV path they cannot use stops them with one line", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = String((blocker.addr as Deno.NetAddr).port);
  const dir = await Deno.makeTempDir();
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ HOST: "not..a..host" }, /^nexus: cannot use HOST=not\.\.a\.\.host PORT=\d+: /],
    [{ HOST: "127.0.0.1", PORT: taken }, /^nexus: cannot use HOST=127\.0\.0\.1 PORT=\d+: /],
    [{ NEXUS_KV_PATH: "/proc/nexus-none/kv.sqlite" }, /^nexus: cannot use NEXUS_KV_PATH=/],
  ];
  try {
    for (const entry of ["start.ts", "main.ts"]) {
      for (const [env, line] of cases) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", entry],
          cwd: new URL("..", import.meta.url).pathname,
          env: { PORT: "0", NEXUS_KV_PATH: `${dir}/kv.sqlite`, NEXUS_RELAY_URL: "ws://x", ...env },
          stdout: "null",
          stderr: "piped",
        }).output();
        const err = new TextDecoder().decode(out.stderr).trim();
        assertEquals(out.code, 1, `${entry} ${JSON.stringify(env)}: ${err}`);
        assert(line.test(err) && !err.includes("\n"), `${entry} ${JSON.stringify(env)}: ${err}`);
      }
    }
  } finally {
    blocker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task start passes an IPv6 HOST to deno serve in brackets", () => {
  // deno serve --host :: fails with a backtrace; [::] listens on every IPv6 address.
  assertEquals(["::", "::1", "[::1]", "0.0.0.0", "localhost"].map(serveHostArg), [
    "[::]",
    "[::1]",
    "[::1]",
    "0.0.0.0",
    "localhost",
  ]);
});

/**
 * Run `deno task start` with `env` until `expected` isolates announce themselves and report their
 * stats, read `/api/stats`, and stop it (whatever happens). DENO_JOBS and NEXUS_VERIFY_THREADS are
 * blank unless `env` sets them: values in the test runner's environment would change the answers.
 */
async function startAndStats(
  env: Record<string, string>,
  expected: number,
  // Threads count once they have loaded their checker, a moment after their isolate announces.
  threads: (stats: { isolates: Array<{ verify_threads: number }> }) => boolean = () => true,
) {
  const dir = await Deno.makeTempDir();
  const child = startTs({
    NEXUS_KV_PATH: `${dir}/kv.sqlite`,
    NEXUS_AUTH: "off",
    DENO_JOBS: "",
    NEXUS_VERIFY_THREADS: "",
    ...env,
  });
  let out = "", err = "";
  const read = Promise.all([
    (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
    })(),
    (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
    })(),
  ]);
  const count = () => (out.match(/relay listening on/g) ?? []).length;
  try {
    const until = Date.now() + 15_000;
    while (count() < expected && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const port = /relay listening on ws:\/\/[^:]+:(\d+)/.exec(out)?.[1];
    if (!port) throw new Error(`no isolate announced itself: ${out}${err}`);
    // Each isolate publishes its snapshot once a second: ask until every one is listed.
    let stats;
    do {
      const res = await fetch(`http://127.0.0.1:${port}/api/stats`, {
        signal: AbortSignal.timeout(5000),
      });
      stats = await res.json();
      if (stats.isolates.length >= expected && threads(stats)) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < until);
    // A second more, for an isolate too many to announce itself.
    await new Promise((r) => setTimeout(r, 1000));
    return { announced: count(), out: out + err, stats };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
    await read;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deno task start without DENO_JOBS runs one isolate per core", async () => {
  const cores = navigator.hardwareConcurrency;
  // Signatures go to threads only where the isolates leave cores spare.
  const threads = defaultVerifyThreads(cores, cores);
  const { announced, out, stats } = await startAndStats({}, cores, each(threads));
  assertEquals(announced, cores, `${cores} cores: ${out}`);
  assertEquals(stats.isolates.length, cores, "every isolate reports its stats");
  for (const i of stats.isolates) assertEquals(i.verify_threads, threads, JSON.stringify(i));
});

Deno.test("deno task start with DENO_JOBS=1 checks signatures on a thread where a core is spare", async () => {
  const threads = defaultVerifyThreads(navigator.hardwareConcurrency, 1);
  const { announced, stats } = await startAndStats({ DENO_JOBS: "1" }, 1, each(threads));
  assertEquals(announced, 1);
  assertEquals(stats.isolates.map((i: { verify_threads: number }) => i.verify_threads), [threads]);
  // And NEXUS_VERIFY_THREADS, when set, is passed through as it is (2: no default on any machine).
  const set = await startAndStats({ DENO_JOBS: "1", NEXUS_VERIFY_THREADS: "2" }, 1, each(2));
  assertEquals(set.stats.isolates[0].verify_threads, 2);
});

/** True once every isolate listed reports `n` verification threads. */
function each(n: number) {
  return (stats: { isolates: Array<{ verify_threads: number }> }) =>
    stats.isolates.every((i) => i.verify_threads === n);
}
