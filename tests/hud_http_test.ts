/** @module The HUD and its endpoints over HTTP against a real relay: escaping, HEAD. */
import { assert, assertEquals } from "@std/assert";
import { Agent, Client, withRelay } from "./helpers.ts";

Deno.test("hud: a handler announcement named <script> shows on the page as text", async () => {
  await withRelay({}, async (r) => {
    const provider = new Agent();
    const c = await Client.connect(r.url);
    try {
      const name = "<script>alert(1)</script>";
      const h = provider.sign({
        kind: 31990,
        tags: [["d", "evil"], ["k", "5050"]],
        content: JSON.stringify({ name }),
      });
      assert((await c.publish(h))[2]);
      // The provider has answered no job yet; its announcement alone puts it on the board.
      const stats = await (await fetch(`${r.http}/api/stats`)).json();
      assert(stats.market.providers.some((p: { name?: string }) => p.name === name));
      const html = await (await fetch(`${r.http}/`, { headers: { accept: "text/html" } })).text();
      assert(!html.includes(name), "raw markup from an event reached the page");
      assert(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"), "escaped name missing");
    } finally {
      c.ws.close();
      await c.closedP;
    }
  });
});

Deno.test("HTTP: HEAD gets GET's headers and length, with no body", async () => {
  await withRelay({}, async (r) => {
    for (const path of ["/", "/api/stats", "/metrics", "/api/jobs", "/api/providers"]) {
      const head = await fetch(`${r.http}${path}`, { method: "HEAD" });
      assertEquals(head.status, 200, path);
      assertEquals(await head.text(), "", path);
      const length = Number(head.headers.get("content-length"));
      const get = await fetch(`${r.http}${path}`);
      assertEquals(head.headers.get("content-type"), get.headers.get("content-type"), path);
      const body = new TextEncoder().encode(await get.text()).length;
      // Live numbers may change between the two requests by a few bytes, not to nothing.
      assert(length > 0 && Math.abs(length - body) < 64, `${path}: HEAD ${length}, GET ${body}`);
      if (path === "/api/jobs") assertEquals(length, body);
    }
  });
});

Deno.test("/api/stats: the job board's own store reads are not counted as clients' REQ filters", async () => {
  await withRelay({}, async (r) => {
    await r.nexus.board.ready;
    await r.nexus.board.refresh(); // what the board does every 30 s
    const hot = async () => (await (await fetch(`${r.http}/api/stats`)).json()).storage.hot_events;
    const idle = await hot();
    assertEquals(
      [idle.filters_from_memory_total, idle.filters_from_kv_total],
      [0, 0],
      "store reads counted with no client connected",
    );
    const c = await Client.connect(r.url);
    await c.req("one", { kinds: [1] });
    const after = await hot();
    assertEquals(after.filters_from_memory_total + after.filters_from_kv_total, 1);
    await c.close();
  });
});
