/**
 * @module The checks RFC 6455 (section 4.2.1) asks of a WebSocket opening handshake beyond what
 * `Deno.upgradeWebSocket` checks, shared by both transports so they refuse the same requests.
 */

const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** The refusal a handshake with these headers gets, or undefined for one to accept. */
export function refuseHandshake(headers: Headers): Response | undefined {
  // RFC 9112 section 3.2: an HTTP/1.1 request without Host is a 400, and the AUTH relay tag is
  // checked against the URL the Host header makes.
  if (!headers.get("host")) return new Response("Missing Host header", { status: 400 });
  const version = headers.get("sec-websocket-version");
  if (version === null) {
    return new Response("Missing Sec-WebSocket-Version", { status: 400 });
  }
  if (version.trim() !== "13") {
    return new Response("Unsupported WebSocket version", {
      status: 426,
      // RFC 9110 section 15.5.22: a 426 names the protocol to upgrade to.
      headers: { "sec-websocket-version": "13", upgrade: "websocket" },
    });
  }
  // The key is 16 random bytes in base64.
  if (!KEY.test(headers.get("sec-websocket-key")?.trim() ?? "")) {
    return new Response("Bad Sec-WebSocket-Key", { status: 400 });
  }
  return undefined;
}
