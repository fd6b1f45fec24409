import { assertEquals, assertRejects } from "@std/assert";
import { FreshRead } from "./fresh_read.ts";

/** A read whose results the test hands out one by one, numbered in the order reads began. */
function controlled() {
  const pending: Array<{ n: number; resolve: (n: number) => void; reject: (e: Error) => void }> =
    [];
  let begun = 0;
  const read = () =>
    new Promise<number>((resolve, reject) => pending.push({ n: ++begun, resolve, reject }));
  const finishNext = async (fail = false) => {
    const r = pending.shift()!;
    if (fail) r.reject(new Error(`read ${r.n} failed`));
    else r.resolve(r.n);
    // Let the continuations run, including the start of a queued read.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { read, finishNext, begun: () => begun };
}

Deno.test("FreshRead: each caller gets a read begun after it asked, shared by waiting callers", async () => {
  const c = controlled();
  const fresh = new FreshRead(c.read);
  const first = fresh.get(); // begins read 1 at once
  assertEquals(c.begun(), 1);
  // These ask while read 1 is pending, so read 1 may predate them: they share read 2.
  const second = fresh.get(), third = fresh.get();
  assertEquals(c.begun(), 1);
  await c.finishNext();
  assertEquals(await first, 1);
  assertEquals(c.begun(), 2);
  const fourth = fresh.get(); // read 2 is pending: this one waits for read 3
  await c.finishNext();
  assertEquals([await second, await third], [2, 2]);
  await c.finishNext();
  assertEquals(await fourth, 3);
  assertEquals(fresh.reads, 3);
  // Idle again: the next caller starts its own read at once.
  const fifth = fresh.get();
  assertEquals(c.begun(), 4);
  await c.finishNext();
  assertEquals(await fifth, 4);
});

Deno.test("FreshRead: a failed read fails its callers only; the queued read still runs", async () => {
  const c = controlled();
  const fresh = new FreshRead(c.read);
  const first = fresh.get();
  const second = fresh.get();
  await c.finishNext(true);
  await assertRejects(() => first, Error, "read 1 failed");
  await c.finishNext();
  assertEquals(await second, 2);
});
