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

Deno.test("NIP-70: a repost that embeds a protected event is refused, even from its author", async () => {
  await withRelay({ NEXUS_AUTH: "off" }, async (r) => {
    const c = await Client.connect(r.url);
    const [a, b] = [new Agent(), new Agent()];
    await c.auth(a);
    await c.auth(b);
    const secret = a.sign({ tags: [["-"]], content: "members only" });
    assertEquals((await c.publish(secret))[2], true);
    // Pretty-printed JSON, or JSON behind whitespace, embeds the event just the same.
    const embeds = [JSON.stringify(secret), " \n" + JSON.stringify(secret, null, 1)];
    for (const [who, kind, content] of [[b, 6, 0], [b, 16, 0], [a, 6, 0], [b, 6, 1]] as const) {
      const repost = who.sign({
        kind,
        tags: [["e", secret.id], ["p", a.pubkey], ["k", "1"]],
        content: embeds[content],
      });
      const ok = await c.publish(repost);
      assertEquals(ok[2], false, `kind ${kind}`);
      assert(ok[3].startsWith("invalid:"), ok[3]);
    }
    // A repost without the embedded event, or embedding an unprotected one, is fine.
    const plain = a.sign({ content: "public" });
    const bare = b.sign({ kind: 6, tags: [["e", secret.id], ["p", a.pubkey]] });
    const embedsPublic = b.sign({
      kind: 6,
      tags: [["e", plain.id]],
      content: JSON.stringify(plain),
    });
    assertEquals((await c.publish(bare))[2], true);
    assertEquals((await c.publish(embedsPublic))[2], true);
    await c.close();
  });
});
