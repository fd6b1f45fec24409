/**
 * A real-browser test of the HUD: headless Chromium opens the page, events and a NIP-90 job flow
 * through real WebSockets, and the page's numbers must change without a reload, then survive a
 * relay restart. A screenshot is saved to a temporary folder for a person to look at.
 */
import { assert, assertEquals } from "@std/assert";
import { loadConfig } from "../config.ts";
import { createNexus, openKv } from "../server.ts";
import { Browser, type CdpSession } from "./cdp.ts";
import { Agent, Client, startRelay, type TestRelay } from "./helpers.ts";

async function waitFor<T>(
  page: CdpSession,
  expr: string,
  ok: (v: T) => boolean,
  what: string,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await page.eval<T>(expr);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

const text = (k: string) => `document.querySelector('[data-k="${k}"]')?.textContent ?? null`;

Deno.test("HUD in headless Chromium updates live and survives a relay restart", async () => {
  let relay: TestRelay | undefined;
  let restarted: { close(): Promise<void> } | undefined;
  let browser: Browser | undefined;
  const clients: Client[] = [];
  try {
    relay = await startRelay({ NEXUS_AUTH: "off" });
    browser = await Browser.launch();
    const page = await browser.open(`${relay.http}/`);
    await waitFor<boolean>(
      page,
      `location.protocol === "http:" && document.readyState === "complete"`,
      (v) => v,
      "page load",
    );
    assertEquals(await page.eval(text("events.received_total")), "0");
    assertEquals(await page.eval(text("relay.url")), relay.url);
    // A marker a reload would erase: its survival proves the numbers change in place.
    await page.eval("window.__noReload = 42");

    const watcher = await Client.connect(relay.url);
    const customer = await Client.connect(relay.url);
    const provider = await Client.connect(relay.url);
    clients.push(watcher, customer, provider);
    await watcher.req("all", { kinds: [1, 5050, 6050, 7000] });
    const alice = new Agent(), bot = new Agent();
    assertEquals((await customer.publish(alice.sign({ content: "hello agents" })))[2], true);
    const job = alice.sign({ kind: 5050, tags: [["i", "what is 2+2?", "text"]] });
    assertEquals((await customer.publish(job))[2], true);
    const jobTags = [["e", job.id], ["p", alice.pubkey]];
    const feedback = bot.sign({ kind: 7000, tags: [...jobTags, ["status", "processing"]] });
    assertEquals((await provider.publish(feedback))[2], true);
    const result = bot.sign({ kind: 6050, content: "4", tags: [...jobTags, ["request", "{}"]] });
    assertEquals((await provider.publish(result))[2], true);
    const bad = { ...alice.sign({ content: "tampered" }), content: "changed" };
    assertEquals((await customer.publish(bad))[2], false);

    await waitFor<string>(page, text("events.received_total"), (t) => t === "5", "received=5");
    await waitFor<string>(page, text("events.stored_total"), (t) => t === "4", "stored=4");
    await waitFor<string>(page, text("events.refused_total"), (t) => t === "1", "refused=1");
    await waitFor<string>(page, text("connections.now"), (t) => t === "3", "connections=3");
    const classes = await waitFor<string>(
      page,
      `document.querySelector('[data-list="classes"]').innerText`,
      (t) => /Job requests[^\n]*\n?\s*1/.test(t) && /Job results/.test(t),
      "job classes in the table",
    );
    assert(classes.includes("Job feedback"));
    const kinds = await page.eval<string>(
      `document.querySelector('[data-list="kinds"]').innerText`,
    );
    assert(kinds.includes("5050 · job request"), kinds);
    // The chart was redrawn: the stored line has a point above the baseline.
    const peak = await page.eval<number>(
      `Math.min(...document.querySelector('svg[data-chart="short"] polyline[data-flow="stored"]')
        .getAttribute("points").split(" ").map((p) => Number(p.split(",")[1])))`,
    );
    assert(peak < 150, `stored line is flat (min y ${peak})`);
    assertEquals(await page.eval("window.__noReload"), 42);
    assertEquals(await page.eval("document.body.dataset.state"), "live");

    const shot = await page.send<{ data: string }>("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
    });
    const dir = await Deno.makeTempDir({ prefix: "nexus-hud-shot-" });
    const path = `${dir}/hud.png`;
    await Deno.writeFile(path, Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0)));
    console.log(`HUD screenshot: ${path}`);

    // Restart: the page must show it lost the relay, then recover on the same port.
    for (const c of clients.splice(0)) await c.close();
    const port = Number(new URL(relay.http).port);
    const kvPath = relay.kvPath;
    await relay.close();
    relay = undefined;
    await waitFor<string>(
      page,
      "document.body.dataset.state",
      (s) => s === "reconnecting",
      "reconnecting state",
    );
    const config = loadConfig((n) => ({ NEXUS_AUTH: "off", NEXUS_KV_PATH: kvPath })[n]);
    const nexus = createNexus(config, await openKv(kvPath));
    const ac = new AbortController();
    const server = Deno.serve(
      { port, hostname: "127.0.0.1", signal: ac.signal, onListen: () => {} },
      nexus.fetch,
    );
    restarted = {
      async close() {
        await nexus.close();
        ac.abort();
        await server.finished;
      },
    };
    await waitFor<string>(page, "document.body.dataset.state", (s) => s === "live", "live again");
    // A fresh process starts its counters from zero; the page must show the new relay's numbers.
    await waitFor<string>(page, text("events.received_total"), (t) => t === "0", "reset counters");
    assertEquals(await page.eval("window.__noReload"), 42);
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    await browser?.close();
    await relay?.close();
    await restarted?.close();
  }
});
