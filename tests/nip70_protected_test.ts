import { assert, assertEquals } from "@std/assert";
import { Agent, Client, withRelay } from "./helpers.ts";

Deno.test('NIP-70: ["-"] events are accepted only from a connection authenticated as the author', async () => {
  await withRelay({ NEXUS_AUTH: "off" }, async (r) => {
    const c = await Client.connect(r.url);
    const [a, b] = [new Agent(), new Agent()];
    const ev = a.sign({ tags: [["-"]] });
    const anon = await c.publish(ev);
    assertEquals(anon[2], false);
    assert(anon[3].startsWith("auth-required:"), anon[3]);
    await c.auth(b);
    const wrong = await c.publish(ev);
    assertEquals(wrong[2], false);
    assert(wrong[3].startsWith("restricted:"), wrong[3]);
    await c.auth(a);
    assertEquals((await c.publish(ev))[2], true);
    // A tag merely starting with "-" is not the protected marker.
    const other = await Client.connect(r.url);
    assertEquals((await other.publish(a.sign({ tags: [["-", "x"]] })))[2], true);
    await other.close();
    await c.close();
  });
});
