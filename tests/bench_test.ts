import { assert, assertEquals } from "@std/assert";

// The benchmark checks every answer it gets; a small run of every phase keeps those checks (and
// the bench itself) working, and is one more end-to-end test of the relay under concurrent load.
Deno.test({
  name: "bench: a small run of every phase finds no wrong answer, miss or failure",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nexus-bench-test-" });
    const out = `${dir}/result.json`;
    try {
      const run = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "bench/bench.ts",
          ...["--events", "300", "--queries", "200", "--idle", "50", "--roundtrips", "10"],
          ...["--subscribers", "10", "--rate", "50", "--seconds", "1", "--out", out],
        ],
        cwd: new URL("..", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
      assertEquals(run.code, 0, log);
      const r = JSON.parse(await Deno.readTextFile(out));
      assertEquals(r.ingest.refused, 0, log);
      assertEquals(
        [r.query.wrong_answers, r.query.missing, r.query.extra, r.query.misordered],
        [0, 0, 0, 0],
      );
      assertEquals([r.fanout.missed, r.fanout.duplicates, r.fanout.unexpected], [0, 0, 0]);
      assertEquals(r.fanout.deliveries_expected, 10 * 50);
      assertEquals(r.jobs.failed, 0);
      assertEquals(r.idle.connections, 50);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Run the bench with flags (and NEXUS_* settings for the relay it starts); code and output. */
async function bench(args: string[], env: Record<string, string> = {}) {
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "bench/bench.ts", ...args],
    cwd: new URL("..", import.meta.url).pathname,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
  return { code: run.code, text };
}

Deno.test("bench: a bad flag stops it with the reason and the flags, exit 2", async () => {
  for (const args of [["--evnets", "5"], ["--events", "abc"], ["--phases", "ingst"]]) {
    const { code, text } = await bench(args);
    assertEquals(code, 2, text);
    assert(text.startsWith("bench: "), text);
    assert(text.includes("--events <5000>"), text);
  }
  const help = await bench(["--help"]);
  assertEquals(help.code, 0, help.text);
});

Deno.test({
  name: "bench: a run whose answers are wrong, or whose AUTH is refused, exits non-zero",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "nexus-bench-test-" });
    try {
      // A relay that cuts every answer at 10 events: the query phase must notice and fail.
      const small = ["--phases", "query", "--events", "200", "--queries", "50"];
      const cut = await bench([...small, "--out", `${dir}/cut.json`], {
        NEXUS_MAX_LIMIT: "10",
        NEXUS_DEFAULT_LIMIT: "10",
      });
      assertEquals(cut.code, 1, cut.text);
      assert(cut.text.includes("bench: checks failed: query.wrong_answers"), cut.text);
      // The table and the file are still there.
      assert(cut.text.includes("| query |"), cut.text);
      assert((await Deno.stat(`${dir}/cut.json`)).isFile);
      // An AUTH the relay refuses (its URL is elsewhere) stops the run instead of hanging it.
      const refused = await bench(["--auth", "--phases", "jobs", "--roundtrips", "2"], {
        NEXUS_RELAY_URL: "wss://relay.example.com",
      });
      assert(refused.code !== 0, refused.text);
      assert(refused.text.includes("AUTH refused"), refused.text);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
