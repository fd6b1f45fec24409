/** @module The page header: relay name, the URL to connect to, whether AUTH is needed, status. */
import type { FC } from "hono/jsx";
import type { StatsReport } from "../report.ts";
import { Live } from "./stat.tsx";

/** The header. */
export const Header: FC<{ r: StatsReport }> = ({ r }) => (
  <header class="top">
    <div>
      {/* Live like the numbers: a restarted relay may come back with other settings. */}
      <h1>
        <Live r={r} k="relay.name" f="text" />
      </h1>
      <p class="connect">
        Connect your Nostr client or agent to{" "}
        <code data-k="relay.url" data-f="text">{r.relay.url}</code>
      </p>
      <p class="connect">
        <span class="badge">
          <Live r={r} k="relay" f="auth" />
        </span>{" "}
        <span class="muted">
          version <Live r={r} k="version" f="text" /> · up <Live r={r} k="uptime_seconds" f="dur" />
          {" "}
          · <Live r={r} k="isolates.length" /> isolate(s) reporting
        </span>
      </p>
    </div>
    <div id="status" class="status live" role="status" aria-live="polite">
      Live · updates every 2 s
    </div>
  </header>
);
