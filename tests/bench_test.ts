import { assertEquals } from "@std/assert";

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
