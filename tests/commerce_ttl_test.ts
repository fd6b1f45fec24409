/**
 * End-to-end: job retention. With a TTL of two seconds, a job, its feedback and its result stop
 * being served and counted, every one of their keys carries the expiry, and the board shows the
 * unanswered job as expired. KV's background sweep takes about 60 s (PLATFORM.md), too slow for
 * every run; but opening a KV handle sweeps expired rows from the file at once, so the test opens
 * one and then checks, through the relay's own handle, that every key of the job events is gone.
 */
import { assert, assertEquals } from "@std/assert";
import { decodeEntry } from "../kv/entry.ts";
import { idHex, uninvertId } from "../kv/keys.ts";
import { Agent, Client, startRelay } from "./helpers.ts";

const TTL = 2;

/** Every KV key that belongs to one of the events, with the expiry its value carries. */
async function keysOf(
  kv: Deno.Kv,
  ids: Set<string>,
): Promise<Array<{ key: Deno.KvKey; x: number }>> {
  const out: Array<{ key: Deno.KvKey; x: number }> = [];
  for await (const e of kv.list({ prefix: [] })) {
    const k = e.key;
    const last = k[k.length - 1];
    const own = (k[0] === "e" && k[1] instanceof Uint8Array && ids.has(idHex(k[1]))) ||
      (last instanceof Uint8Array && last.length === 32 && ids.has(uninvertId(last)));
    if (own) out.push({ key: k, x: decodeEntry(e.value).x });
  }
  return out;
}

Deno.test({
  name: "commerce: job events expire after NEXUS_JOB_TTL_SECONDS, served, counted and stored",
  fn: async () => {
    const r = await startRelay({
      NEXUS_JOB_TTL_SECONDS: String(TTL),
      NEXUS_FEED_TTL_SECONDS: "10",
    });
    const c = await Client.connect(r.url);
    const customer = new Agent();
    const provider = new Agent();
    try {
      const job = customer.sign({ kind: 5050, tags: [["i", "x", "text"]] });
      const idle = customer.sign({ kind: 5050, tags: [["i", "nobody answers", "text"]] });
      const tags = [["e", job.id], ["p", customer.pubkey]];
      const fb = provider.sign({ kind: 7000, tags: [["status", "processing"], ...tags] });
      const res = provider.sign({ kind: 6050, tags, content: "X" });
      const note = customer.sign({ kind: 1, content: "kept: not a job kind" });
      for (const ev of [job, idle, fb, res, note]) assertEquals((await c.publish(ev))[2], true);
      const jobIds = new Set([job.id, idle.id, fb.id, res.id]);
      const filter = { authors: [customer.pubkey, provider.pubkey] };

      assertEquals((await c.req("before", filter)).events.length, 5);
      const board = r.nexus.board;
      assertEquals(board.job(idle.id)?.state, "requested");

      // Every key of a job event carries an expiry no later than the TTL from now.
      const keys = await keysOf(r.nexus.kv, jobIds);
      assert(keys.length >= 4 * 5, `expected event and index keys, got ${keys.length}`);
      const now = Date.now() / 1000;
      for (const k of keys) {
        assert(k.x > 0 && k.x <= now + TTL + 1, `no expiry on ${String(k.key)}`);
      }

      // After the TTL: neither served nor counted, though KV has not swept the keys yet.
      await new Promise((res) => setTimeout(res, (TTL + 1.1) * 1000));
      const after = await c.req("after", filter);
      assertEquals(after.events.map((e) => e.id), [note.id]);
      c.send(["COUNT", "n", filter]);
      const count = await c.take((m) => Array.isArray(m) && m[0] === "COUNT" && m[1] === "n");
      assertEquals((count[2] as { count: number }).count, 1);
      assertEquals((await c.req("e", { "#e": [job.id] })).events, []);
      assertEquals(board.job(idle.id)?.state, "expired");
      assertEquals(board.job(job.id)?.state, "success");
      assertEquals(board.summary().jobs.expired, 1);

      // Sweep: a fresh handle on the same file purges expired rows; the relay's handle then
      // sees none of the job events' keys, while the note's keys stay.
      (await Deno.openKv(r.kvPath)).close();
      assertEquals((await keysOf(r.nexus.kv, jobIds)).map((k) => String(k.key)), []);
      assert((await keysOf(r.nexus.kv, new Set([note.id]))).length >= 4);
    } finally {
      await c.close();
      await r.close();
    }
  },
});
