import { assertEquals } from "@std/assert";
import { listeningLine } from "./listen.ts";

Deno.test("listeningLine() names a URL a client can paste, IPv6 addresses in brackets", () => {
  assertEquals(
    listeningLine({ hostname: "0.0.0.0", port: 8000 }),
    "nexus: relay listening on ws://0.0.0.0:8000",
  );
  const v6 = listeningLine({ hostname: "::1", port: 8000 });
  assertEquals(v6, "nexus: relay listening on ws://[::1]:8000");
  // Without the brackets the port would be read as part of the address.
  assertEquals(new URL(v6.slice(v6.indexOf("ws://"))).port, "8000");
});
