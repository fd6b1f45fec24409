/** Graceful shutdown of a relay process: clients are told, sockets closed, the KV closed, quick exit. */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { Agent, Client } from "./helpers.ts";
import { checkStoreTask, spawnRelay } from "./process.ts";

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test({
    name:
      `shutdown: on ${signal} clients get a NOTICE and 1001, not CLOSED, and the process exits in time`,
    sanitizeResources: false,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "nexus-shutdown-" });
      const kvPath = `${dir}/nexus.sqlite`;
      const relay = await spawnRelay(kvPath);
      const c = await Client.connect(relay.url);
      const idle = await Client.connect(relay.url);
      const ev = new Agent().sign({ content: "before shutdown" });
      assertEquals((await c.publish(ev))[2], true);
      assertEquals((await c.req("live", { kinds: [1] })).events.length, 1);

      const started = Date.now();
      relay.child.kill(signal);
      for (const x of [c, idle]) {
        const notice = await x.take((m) => Array.isArray(m) && m[0] === "NOTICE");
        assertMatch(notice[1] as string, /shutting down/);
        assertEquals((await x.closedP).code, 1001);
      }
      // A CLOSED would tell client libraries the subscription is over for good, so they would not
      // re-send it after reconnecting to the restarted relay.
      const closed = c.inbox.filter((m) => Array.isArray(m) && m[0] === "CLOSED");
      assertEquals(closed, []);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        relay.child.status,
        new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 5000)),
      ]);
      clearTimeout(timer);
      if (!status) {
        relay.child.kill("SIGKILL");
        await relay.child.status;
        throw new Error("the relay did not exit within 5 s");
      }
      assertEquals(status.code, 0);
      assert(Date.now() - started < 5000);
      // The KV was closed cleanly with the event in it.
      const check = await checkStoreTask(kvPath);
      assertEquals(check.code, 0, check.out);
      assertMatch(check.out, /1 events/);
      await Deno.remove(dir, { recursive: true });
    },
  });
}
