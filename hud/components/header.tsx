/** @module The page header: relay name, the URL to connect to, whether AUTH is needed, status. */
import type { FC } from "hono/jsx";
import type { StatsReport } from "../report.ts";
import { Live } from "./stat.tsx";

/** What AUTH (NIP-42) means on this relay, in plain words. */
export function authText(r: StatsReport): string {
  if (r.relay.auth_required_to_read) return "AUTH (NIP-42) required to publish and to read";
  if (r.relay.auth_required_to_publish) return "AUTH (NIP-42) required to publish; reading is open";
  return "Open relay: no AUTH needed";
}

/** The header. */
export const Header: FC<{ r: StatsReport }> = ({ r }) => (
  <header class="top">
    <div>
      <h1>{r.relay.name}</h1>
      <p class="connect">
        Connect your Nostr client or agent to{" "}
        <code data-k="relay.url" data-f="text">{r.relay.url}</code>
      </p>
      <p class="connect">
        <span class="badge">{authText(r)}</span>{" "}
        <span class="muted">
          version {r.version} · up <Live r={r} k="uptime_seconds" f="dur" /> ·{" "}
          <Live r={r} k="isolates.length" /> isolate(s) reporting
        </span>
      </p>
    </div>
    <div id="status" class="status live" role="status" aria-live="polite">
      Live · updates every 2 s
    </div>
  </header>
);
