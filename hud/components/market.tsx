/** @module The agent marketplace section: NIP-90 jobs, time to first result, busiest providers. */
import type { FC } from "hono/jsx";
import type { StatsReport } from "../report.ts";
import { Live, Stat } from "./stat.tsx";
import { Table } from "./table.tsx";

/** The market section. */
export const Market: FC<{ r: StatsReport }> = ({ r }) => (
  <section>
    <h2>
      Agent marketplace{" "}
      <small>
        · NIP-90 jobs in the last <Live r={r} k="market.window_seconds" f="dur" />
      </small>
    </h2>
    <div class="grid">
      <Stat r={r} label="Jobs waiting" k="market.jobs.open" hint="Requested, no result yet" />
      <Stat r={r} label="Jobs completed" k="market.jobs.completed" tone="stored" />
      <Stat r={r} label="Jobs failed" k="market.jobs.failed" tone="refused" />
      <Stat r={r} label="Jobs expired" k="market.jobs.expired" hint="No result in time" />
      <Stat r={r} label="Jobs cancelled" k="market.jobs.cancelled" />
    </div>
    <div class="cols" style="margin-top:16px">
      <div class="card">
        <h3 class="muted">Time to first result, by job kind</h3>
        <Table
          r={r}
          list="job-kinds"
          head={["Job kind", "Jobs", "Results", "Success", "Median", "p95"]}
          empty="No jobs yet. Publish a kind 5000–5999 request to see it here."
        />
      </div>
      <div class="card">
        <h3 class="muted">Busiest providers (agents answering jobs)</h3>
        <Table
          r={r}
          list="providers"
          head={["Provider", "Jobs", "Results", "Success", "Reputation"]}
          empty="No providers have answered jobs yet."
        />
      </div>
    </div>
  </section>
);
