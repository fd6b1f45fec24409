import { assert, assertEquals } from "@std/assert";
import { withRelay } from "./helpers.ts";

const NIP11 = { accept: "application/nostr+json" };

Deno.test("NIP-11: the document is served with Accept: application/nostr+json and CORS", async () => {
  const env = {
    NEXUS_AUTH: "writes",
    NEXUS_NAME: "Test relay",
    NEXUS_DESCRIPTION: "For tests",
    NEXUS_PUBKEY: "a".repeat(64),
    NEXUS_CONTACT: "mailto:ops@example.com",
    NEXUS_MAX_MESSAGE_LENGTH: "30000",
    NEXUS_MAX_SUBSCRIPTIONS: "7",
    NEXUS_MAX_LIMIT: "50",
    NEXUS_DEFAULT_LIMIT: "20",
    NEXUS_MAX_EVENT_TAGS: "40",
    NEXUS_MAX_CONTENT_LENGTH: "1000",
    NEXUS_CREATED_AT_LOWER_LIMIT: "3600",
    NEXUS_CREATED_AT_UPPER_LIMIT: "60",
    NEXUS_MAX_BUFFERED_BYTES: "1048576",
  };
  await withRelay(env, async (r) => {
    const res = await fetch(r.http + "/", { headers: NIP11 });
    assertEquals(res.status, 200);
    assert(res.headers.get("content-type")?.startsWith("application/nostr+json"));
    assertEquals(res.headers.get("access-control-allow-origin"), "*");
    assert(res.headers.get("access-control-allow-headers"));
    assert(res.headers.get("access-control-allow-methods")?.includes("GET"));
    const info = await res.json();
    assertEquals(info.name, "Test relay");
    assert(String(info.description).startsWith("For tests"), String(info.description));
    assertEquals(info.pubkey, "a".repeat(64));
    assertEquals(info.contact, "mailto:ops@example.com");
    assert(/^https?:\/\//.test(info.software), info.software);
    assertEquals(typeof info.version, "string");
    assertEquals(info.supported_nips, [1, 9, 11, 40, 42, 45, 70, 89, 90]);
    const l = info.limitation;
    assertEquals(l.max_message_length, 30000);
    assertEquals(l.max_subscriptions, 7);
    assertEquals(l.max_limit, 50);
    assertEquals(l.default_limit, 20);
    assertEquals(l.max_subid_length, 64);
    assertEquals(l.max_event_tags, 40);
    assertEquals(l.max_content_length, 1000);
    assertEquals(l.auth_required, false);
    assertEquals(l.restricted_writes, true);
    assertEquals(l.created_at_lower_limit, 3600);
    assertEquals(l.created_at_upper_limit, 60);
    assertEquals(l.nexus_max_buffered_bytes, 1048576);
    // A browser's preflight gets the CORS headers too.
    const pre = await fetch(r.http + "/", { method: "OPTIONS", headers: NIP11 });
    await pre.body?.cancel();
    assert(pre.status < 300, String(pre.status));
    assertEquals(pre.headers.get("access-control-allow-origin"), "*");
  });
});

Deno.test("NIP-11: auth_required follows NEXUS_AUTH", async () => {
  for (const [mode, required, restricted] of [["required", true, true], ["off", false, false]]) {
    await withRelay({ NEXUS_AUTH: String(mode) }, async (r) => {
      const info = await (await fetch(r.http, { headers: NIP11 })).json();
      assertEquals(info.limitation.auth_required, required, String(mode));
      assertEquals(info.limitation.restricted_writes, restricted, String(mode));
      assertEquals(info.pubkey, undefined);
      // No lower limit is set: published as 0, as the README's table says.
      assertEquals(info.limitation.created_at_lower_limit, 0);
      assertEquals(info.limitation.nexus_max_buffered_bytes, 8 * 1024 * 1024);
    });
  }
});

Deno.test("HTTP: a browser on / does not get the NIP-11 document", async () => {
  await withRelay({}, async (r) => {
    const res = await fetch(r.http + "/", { headers: { accept: "text/html" } });
    const body = await res.text();
    assert(!res.headers.get("content-type")?.includes("nostr+json"));
    assert(!body.startsWith("{"), "HTML, not JSON");
  });
});

Deno.test("HTTP: Accept is read case-insensitively, and / says it varies by Accept", async () => {
  await withRelay({}, async (r) => {
    const doc = await fetch(r.http + "/", { headers: { accept: "Application/Nostr+JSON" } });
    assertEquals(doc.headers.get("content-type"), "application/nostr+json");
    assertEquals((await doc.json()).supported_nips.includes(11), true);
    assertEquals(doc.headers.get("vary")?.toLowerCase(), "accept");
    const page = await fetch(r.http + "/", { headers: { accept: "text/html" } });
    await page.body?.cancel();
    assertEquals(page.headers.get("vary")?.toLowerCase(), "accept");
  });
});

Deno.test("HTTP: a Host header that makes no URL gets 400, not a server error", async () => {
  await withRelay({}, async (r) => {
    for (const host of ["a b", "example.com:99999"]) {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: Number(new URL(r.http).port),
      });
      await conn.write(new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
      const buf = new Uint8Array(256);
      const n = await conn.read(buf);
      conn.close();
      const status = new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
      assertEquals(status?.split(" ")[1], "400", `${host}: ${status}`);
    }
  });
});

Deno.test("WebSocket: upgrades on any path but / get 404", async () => {
  await withRelay({}, async (r) => {
    for (const path of ["/other", "/api/stats", "/ws"]) {
      const res = await fetch(r.http + path, {
        headers: {
          upgrade: "websocket",
          connection: "Upgrade",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          "sec-websocket-version": "13",
        },
      });
      await res.body?.cancel();
      assertEquals(res.status, 404, path);
    }
    const ws = new WebSocket(r.url + "/nope");
    const outcome = await new Promise<string>((res) => {
      ws.onopen = () => res("open");
      ws.onerror = () => res("error");
    });
    if (ws.readyState !== WebSocket.CLOSED) {
      await new Promise((res) => {
        ws.onclose = res;
        ws.close();
      });
    }
    assertEquals(outcome, "error");
  });
});

Deno.test("NIP-11: the Accept header's q-values choose between the document and the HUD", async () => {
  await withRelay({}, async (r) => {
    const kind = async (accept: string) => {
      const res = await fetch(r.http + "/", { headers: { accept } });
      await res.body?.cancel();
      return res.headers.get("content-type")?.split(";")[0];
    };
    assertEquals(await kind("application/nostr+json"), "application/nostr+json");
    assertEquals(await kind("Application/Nostr+JSON; charset=utf-8"), "application/nostr+json");
    assertEquals(await kind("application/nostr+json, application/json"), "application/nostr+json");
    assertEquals(await kind("application/nostr+json;q=0, text/html"), "text/html");
    assertEquals(await kind("text/html;q=0.9, application/nostr+json;q=0.5"), "text/html");
    assertEquals(await kind("text/html;q=0.5, application/nostr+json"), "application/nostr+json");
    assertEquals(await kind("*/*"), "text/html");
  });
});
