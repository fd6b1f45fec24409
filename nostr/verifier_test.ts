import { assert, assertEquals } from "@std/assert";
import { finalizeEvent, generateSecretKey } from "nostr-tools";
import type { NostrEvent } from "./types.ts";
import { createVerifier, inlineVerifier, type Verifier } from "./verifier.ts";

const sk = generateSecretKey();
const good = (i: number) =>
  finalizeEvent({ kind: 1, tags: [], content: `e${i}`, created_at: 1 }, sk) as NostrEvent;
const bad = (i: number) => ({ ...good(i), content: `changed ${i}` });

/** Until the threads have said they are ready, checks run inline: wait for the threads. */
async function settledOn(v: Verifier): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    // An inline answer comes within this task; a thread's needs a message, a later task.
    const inline = await Promise.race([
      Promise.resolve(v.verify(good(-1))).then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 0)),
    ]);
    if (!inline) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("the threads never became ready");
}

Deno.test("createVerifier(0) checks on this thread, synchronously", () => {
  const v = createVerifier(0);
  assertEquals(v, inlineVerifier);
  assertEquals(v.threads, 0);
  assertEquals(v.verify(good(1)), true);
  assertEquals(v.verify(bad(1)), false);
});

Deno.test("verification threads: right answers, before and after the threads are ready", async () => {
  const v = createVerifier(2);
  try {
    // Handed in at once: the threads cannot be ready yet, so these are checked here.
    const early = await Promise.all([good(1), bad(2), good(3)].map((e) => v.verify(e)));
    assertEquals(early, [true, false, true]);
    await settledOn(v);
    for (const until = Date.now() + 10_000; v.threads < 2 && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(v.threads, 2, "both threads are ready");
    const events = Array.from({ length: 300 }, (_, i) => i % 7 === 3 ? bad(i) : good(i));
    const answers = await Promise.all(events.map((e) => v.verify(e)));
    assertEquals(answers, events.map((_, i) => i % 7 !== 3));
  } finally {
    v.close();
  }
});

Deno.test("verification threads: answers come back in the order events were handed in", async () => {
  const v = createVerifier(2);
  try {
    await settledOn(v);
    const order: number[] = [];
    const check = (e: NostrEvent, i: number) =>
      Promise.resolve(v.verify(e)).then((ok) => {
        order.push(i);
        return ok;
      });
    // A big batch to one thread, then (next turn) one event to the other, idle, thread: that one
    // is answered first, but must not be resolved before the batch handed in earlier.
    const first = Promise.all(
      Array.from({ length: 400 }, (_, i) => check(good(1000 + i), i)),
    );
    await new Promise((r) => setTimeout(r, 0));
    const second = check(good(5000), 400);
    const [a, b] = await Promise.all([first, second]);
    assertEquals(a.every((x) => x), true);
    assertEquals(b, true);
    assertEquals(order, Array.from({ length: 401 }, (_, i) => i));
  } finally {
    v.close();
  }
});

Deno.test("verification threads: sources are served in turns, each in its own order", async () => {
  // A cap above the flood: every check goes through the threads' queue, none inline.
  const v = createVerifier(1, { perThread: 1000 });
  try {
    await settledOn(v);
    const order: number[] = [];
    const check = (e: NostrEvent, i: number, source: string) =>
      Promise.resolve(v.verify(e, source)).then((ok) => {
        order.push(i);
        return ok;
      });
    // A flooding source hands in 400 events; a turn later another source hands in one. It is
    // checked in the flood's next turn, not behind all 400.
    const flood = Promise.all(
      Array.from({ length: 400 }, (_, i) => check(i % 9 === 4 ? bad(i) : good(i), i, "flood")),
    );
    await new Promise((r) => setTimeout(r, 0));
    const honest = check(good(5000), 400, "honest");
    const [a, b] = await Promise.all([flood, honest]);
    assertEquals(a, Array.from({ length: 400 }, (_, i) => i % 9 !== 4));
    assertEquals(b, true);
    const at = order.indexOf(400);
    assert(at < 100, `the lone event was answered after ${at} of the flood's`);
    assertEquals(order.filter((i) => i < 400), Array.from({ length: 400 }, (_, i) => i));
  } finally {
    v.close();
  }
});

Deno.test("verification threads: close() answers checks still out as unchecked, at once", async () => {
  const silent = new URL("./testdata/silent_verify_worker.ts", import.meta.url).href;
  const v = createVerifier(1, { script: silent });
  await settledOn(v);
  const pending = Promise.all([good(1), bad(2)].map((e) => v.verify(e)));
  await new Promise((r) => setTimeout(r, 0)); // the batch is posted, and never answered
  const t0 = performance.now();
  v.close();
  assertEquals(await pending, [undefined, undefined]);
  assert(performance.now() - t0 < 100, "close() does not check the backlog");
  assertEquals(await v.verify(good(3)), undefined, "after close nothing is checked");
});

Deno.test("verification threads: close() keeps the answers of checks done, waiting behind one still out", async () => {
  const silent = new URL("./testdata/silent_verify_worker.ts", import.meta.url).href;
  // settledOn leaves one check with the silent thread: a cap of 2 lets one more go there.
  const v = createVerifier(1, { script: silent, perThread: 2 });
  await settledOn(v);
  const first = v.verify(good(1), "s"); // to the silent thread, never answered
  await new Promise((r) => setTimeout(r, 0));
  const second = v.verify(bad(2), "s"); // past the cap: checked here at once, waits behind the first
  v.close();
  assertEquals(await first, undefined);
  assertEquals(await second, false, "its answer was known");
});

Deno.test("verification threads: a thread that fails is replaced by checks on this thread", async () => {
  const failing = new URL("./testdata/failing_verify_worker.ts", import.meta.url).href;
  const v = createVerifier(1, { script: failing });
  const errors = captureErrors();
  try {
    await settledOn(v);
    const events = [good(1), bad(2), good(3)];
    assertEquals(await Promise.all(events.map((e) => v.verify(e))), [true, false, true]);
    assertEquals(await v.verify(bad(4)), false);
    assertEquals(errors.length, 1, "the failure is logged once");
    assertEquals(v.threads, 0, "the failed thread is no longer counted");
  } finally {
    errors.restore();
    v.close();
  }
});

Deno.test("verification threads: a thread that stops answering is dropped; over the cap, checks run here, in order", async () => {
  const silent = new URL("./testdata/silent_verify_worker.ts", import.meta.url).href;
  const v = createVerifier(1, { script: silent, perThread: 4, stallMs: 300 });
  const errors = captureErrors();
  try {
    await settledOn(v);
    const events = Array.from({ length: 12 }, (_, i) => i % 3 === 1 ? bad(i) : good(i));
    const order: number[] = [];
    const answers = Promise.all(events.map((e, i) =>
      Promise.resolve(v.verify(e)).then((ok) => {
        order.push(i);
        return ok;
      })
    ));
    // Past the cap of 4 the rest were checked at once, but wait behind the silent thread's batch.
    await new Promise((r) => setTimeout(r, 50));
    assertEquals(order, [], "nothing is answered ahead of the batch handed in first");
    assertEquals(await answers, events.map((_, i) => i % 3 !== 1));
    assertEquals(order, Array.from({ length: 12 }, (_, i) => i));
    assertEquals(errors.length, 1, "the stall is logged once");
  } finally {
    errors.restore();
    v.close();
  }
});

/** Collect console.error calls until restore(). */
function captureErrors(): unknown[] & { restore(): void } {
  const error = console.error;
  const seen = [] as unknown as unknown[] & { restore(): void };
  console.error = (...args: unknown[]) => seen.push(args);
  seen.restore = () => console.error = error;
  return seen;
}
