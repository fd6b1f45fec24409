/** @module The HUD over HTTP against a real relay: event text reaches the page escaped. */
import { assert } from "@std/assert";
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
